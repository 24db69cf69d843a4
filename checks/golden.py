"""Golden reference evidence: the PyTorch side computed once, reused while nothing it depends on changed.

A porter fixing the Paddle code re-runs a step many times; the reference model, checkpoint, input and
data do not change between those runs, so recomputing them (and importing torch) is wasted time. Each
cached entry is keyed by a fingerprint of everything the reference result depends on: the reference
config, the source of the porter's reference modules, the checkpoint, the input/data files, the seed,
the device and the torch version. Any change gives a new fingerprint and a recomputation.

What cannot be named before a run (a vocabulary, a config JSON or a data file the reference's factory
opens, an environment variable it reads) is recorded while it runs (`reads.py`) and checked before an
entry is reused: a changed one recomputes it too, and the result says which.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import paddle_port_checks
from paddle_port_checks import reads
from paddle_port_checks.atomic import WriteError, write_json_atomic

# 2: the sidecar records what the computation read (`reads`); a format-1 entry predates that.
CACHE_FORMAT = 2


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; 'missing' when absent (so creating the file changes the fingerprint).
    Remembered per file version (inode, size, mtime) in this process: a multi-GB checkpoint is hashed once
    per run, not once per step and fingerprint."""
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    if not path.is_file():
        return "missing"
    version = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if version not in _DIGESTS:
        _DIGESTS[version] = _sha256_of(path)
    return _DIGESTS[version]


_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_digest(spec: str, root: Path, leave_out: frozenset[Path] = frozenset()) -> str:
    """A digest of the code behind `module:callable`, without importing it.

    For the porter's own code (inside the workspace) it covers the factory's module and every workspace
    module it imports, followed statically through the import statements: a model spread over several
    files counts whole, while the Paddle twin sitting in the same package does not (editing the port must
    not throw the reference away; `leave_out` names more such files). For installed code the distribution
    version stands for the code.
    """
    if not spec:
        return ""
    module_name = spec.partition(":")[0]
    origin = _origin(module_name)
    if origin is None:
        return f"unresolved:{module_name}"
    if not _inside(origin, root):
        top = module_name.split(".")[0]
        try:
            return f"{top}=={importlib.metadata.version(top)}"
        except importlib.metadata.PackageNotFoundError:
            return file_digest(origin)
    files = _workspace_closure(module_name, root) - leave_out
    return fingerprint([(str(path.relative_to(root.resolve())), file_digest(path)) for path in sorted(files)])


def paddle_side_files(reference_model: str, paddle_model: str, root: Path) -> frozenset[Path]:
    """The Paddle twin's own files, left out of the reference side's digests: a fix to the port must not
    throw the reference away, also when shared code reaches them (a tutorial's utilities.py imports both
    trees). They are the workspace files only the Paddle model reaches, plus its whole top-level package
    when that is not the reference model's (`paddlevision` beside a vendored `torchvision`)."""
    reference_module, paddle_module = reference_model.partition(":")[0], paddle_model.partition(":")[0]
    files = _workspace_closure(paddle_module, root) - _workspace_closure(reference_module, root)
    paddle_top = paddle_module.split(".")[0]
    package = _origin(paddle_top)
    own_package = package is not None and package.name == "__init__.py" and _inside(package, root)
    if own_package and package and paddle_top != reference_module.split(".")[0]:
        files |= {path.resolve() for path in package.parent.rglob("*.py")}
    return frozenset(files)


def _origin(module_name: str) -> Path | None:
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if found is None or not found.origin or not Path(found.origin).is_file():
        return None
    return Path(found.origin).resolve()


def _inside(path: Path, root: Path) -> bool:
    """The porter's own code: under the workspace, but not an environment that lives there (.venv)."""
    installed = {"site-packages", "dist-packages"} & set(path.parts)
    return path.is_relative_to(root.resolve()) and not installed and not path.is_relative_to(sys.prefix)


def _workspace_closure(module_name: str, root: Path) -> set[Path]:
    """The workspace files reachable from a module through its import statements (and package __init__s)."""
    seen: set[Path] = set()
    pending = [module_name]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        # find_spec("torch.nn") imports torch: look at the top-level package first, and only follow the
        # porter's own packages (finding a top-level spec imports nothing).
        top = _origin(parts[0])
        if top is None or not _inside(top, root):
            continue
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            origin = _origin(".".join(parts[:depth]))
            if origin is None or not _inside(origin, root) or origin in seen:
                continue
            seen.add(origin)
            package = ".".join(parts[:depth]) if origin.name == "__init__.py" else ".".join(parts[: depth - 1])
            pending.extend(_imported_names(origin, package))
    return seen


def _imported_names(path: Path, package: str) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                base = ".".join([*anchor, base] if base else anchor)
            if base:
                # `from pkg import mod` may name a submodule: try both.
                names += [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
    return names


@functools.cache
def library_digest() -> str:
    """The checks library's own code: how a reference is computed is part of what it depends on. A version
    constant alone let a changed step reuse a reference of the old layout (an upgrade or a developer's
    edit); the sources are the same on every machine with the same release, so a reference computed on a
    GPU server is still reused elsewhere."""
    digest = hashlib.sha256(paddle_port_checks.__version__.encode())
    root = Path(paddle_port_checks.__file__).parent
    for source in sorted(root.rglob("*.py")):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def fingerprint(parts: Any) -> str:
    """A stable sha256 of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def framework_version(name: str) -> str:
    """The installed version without importing the framework (importing torch costs seconds)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class GoldenCache:
    """Reference arrays under `result/cache/<name>.npz` with a sidecar `<name>.json` naming the fingerprint
    and what the computation read (see `reads.py`).

    The fingerprint is what can be known before a run; what the reference reads (a vocabulary, a config
    JSON, a data file, an environment variable its factory looks up) is known only after it. Both decide
    reuse: an entry is reused when its fingerprint matches and every file, folder and variable it read is
    still as it was (a file now missing counts as changed). Paths inside the workspace are kept relative
    to it, so a moved workspace still reuses; variables are kept as digests of their values, so a token a
    porter's code reads is never written to disk.
    """

    def __init__(self, directory: Path, workspace: Path | None = None) -> None:
        self.directory = directory
        # The cache lives in <workspace>/result/cache; the workspace names the recorded paths.
        self.workspace = (workspace or directory.parent.parent).resolve()
        # The Paddle twin's code files: what the porter's code read through them is not the reference's.
        self.code_left_out: frozenset[Path] = frozenset()
        reads.watch(self.workspace)

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.npz", self.directory / f"{name}.json"

    def load(self, name: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The cached arrays and their info, when the entry is still valid (`lookup` says why not)."""
        found = self.lookup(name, key)
        return None if found.arrays is None else (found.arrays, found.info)

    def lookup(self, name: str, key: str) -> CacheLookup:
        arrays_path, meta_path = self._paths(name)
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            return CacheLookup()
        except (OSError, ValueError) as error:
            return CacheLookup(stale=self._unreadable(meta_path, error))
        if not isinstance(meta, dict):
            return CacheLookup(stale=self._unreadable(meta_path, ValueError("not a JSON object")))
        if meta.get("fingerprint") != key or meta.get("format") != CACHE_FORMAT:
            return CacheLookup()
        recorded = meta.get("reads", {})
        changed = self.changed_read(recorded)
        if changed:
            return CacheLookup(stale=changed)
        try:
            with np.load(arrays_path, allow_pickle=False) as stored:
                arrays = {array_name: stored[array_name] for array_name in meta["order"]}
        except FileNotFoundError:
            return CacheLookup()
        # The cache is ours and disposable: whatever stops it being read (a truncated zip, a bad CRC, a
        # missing member) is a miss, never an error that would repeat on every run until --fresh.
        except Exception as error:
            return CacheLookup(stale=self._unreadable(arrays_path, error))
        # A reference reused while an outer one is computed: what it read, the outer one depends on too.
        reads.note_reused(
            [self._path(entry) for entry in recorded.get("files", {})],
            [self._path(entry) for entry in recorded.get("folders", {})],
            recorded.get("variables", {}),
        )
        return CacheLookup(arrays=arrays, info=meta.get("info", {}))

    def store(
        self,
        name: str,
        key: str,
        arrays: Mapping[str, np.ndarray],
        info: Mapping[str, Any],
        recorded: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        arrays_path, meta_path = self._paths(name)
        partial = arrays_path.with_name(f"{arrays_path.stem}.{os.getpid()}.partial.npz")  # two runs may race
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # The meta file is written last: a crash in between leaves a stale meta, never a wrong match.
            meta_path.unlink(missing_ok=True)
            np.savez(partial, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
            partial.replace(arrays_path)
        except OSError as error:
            partial.unlink(missing_ok=True)  # a disk that filled up mid-write keeps no half-written entry
            raise WriteError(arrays_path, error) from error
        meta = {
            "format": CACHE_FORMAT,
            "fingerprint": key,
            "order": list(arrays),
            "info": dict(info),
            "reads": {kind: dict(entries) for kind, entries in (recorded or {}).items()},
        }
        write_json_atomic(meta_path, meta)

    def get_or_compute(
        self, name: str, key: str, compute: Callable[[], Mapping[str, np.ndarray]], fresh: bool = False
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays and a record of where they came from: `reused`, when/with what they were computed, and
        `recomputed` (why a cached entry of the same fingerprint was not reused: "vocab.json changed")."""
        stale = ""
        if not fresh:
            found = self.lookup(name, key)
            if found.arrays is not None:
                return found.arrays, {**found.info, "reused": True}
            stale = found.stale
        with reads.recording() as recording:
            arrays = {k: np.asarray(v) for k, v in compute().items()}
        # Recorded, not keyed: a reference computed with another torch build (another machine, a GPU
        # server) stays usable; the result shows which build made it, and --fresh recomputes.
        info = {"torch": framework_version("torch"), "computed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.store(name, key, arrays, info, self.digest_reads(recording))
        return arrays, {**info, "reused": False, **({"recomputed": stale} if stale else {})}

    # --- what a computation read, digested and checked -----------------------------------------------
    def digest_reads(self, recording: reads.Recording) -> dict[str, dict[str, str]]:
        """The porter's inputs a computation read, each with the digest that will be checked on lookup: what
        was read while it ran, and what the porter's code read earlier in this process (at import, or once
        and memoised), except through the Paddle twin's code. The tool's own folders (result/,
        .paddle_port/, the cache) are the run's output, not its input."""
        read = recording.merged(reads.process_reads().without_code(self.code_left_out))
        tool_folders = [self.workspace / "result", self.workspace / ".paddle_port", self.directory]
        return {
            "files": {self._name(path): file_digest(path) for path in read.input_files(tool_folders)},
            "folders": {self._name(path): folder_digest(path) for path in read.input_folders(tool_folders)},
            "variables": {name: value_digest(value) for name, value in read.input_variables().items()},
        }

    def changed_read(self, recorded: Mapping[str, Mapping[str, str]]) -> str:
        """The first recorded input that is no longer as it was read, in words; "" when none changed."""
        for name, digest in recorded.get("files", {}).items():
            now = file_digest(self._path(name))
            if now != digest:
                return f"{name} {'is gone' if now == 'missing' else 'changed'}"
        for name, digest in recorded.get("folders", {}).items():
            if folder_digest(self._path(name)) != digest:
                return f"the listing of {name}/ changed"
        for name, digest in recorded.get("variables", {}).items():
            if value_digest(os.environ.get(name)) != digest:
                return f"environment variable {name} changed"
        return ""

    def _unreadable(self, path: Path, error: Exception) -> str:
        why = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return f"{self._name(path.resolve())} was unreadable ({why})"

    def _name(self, path: Path) -> str:
        return path.relative_to(self.workspace).as_posix() if path.is_relative_to(self.workspace) else str(path)

    def _path(self, name: str) -> Path:
        return self.workspace / name  # an absolute name stays itself


@dataclass
class CacheLookup:
    """A cache entry found valid (`arrays`, `info`), or not: `stale` says why it was not reused when that is
    worth a warning (a recorded input changed, the entry was unreadable)."""

    arrays: dict[str, np.ndarray] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    stale: str = ""


def folder_digest(path: Path) -> str:
    """sha256 of a folder's sorted listing (names only: a file's bytes count when it is read); 'missing'
    when it is not a folder."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return "missing"
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def value_digest(value: str | None) -> str:
    """An environment variable's value as recorded: a digest (a secret is never written), or 'unset'."""
    return "unset" if value is None else hashlib.sha256(value.encode()).hexdigest()


def sample_digests(samples: Iterable[tuple[Any, int]]) -> list[tuple[int, str]]:
    """Each sample's content and label, in order: a replaced photo must invalidate the reference, a moved
    workspace (another machine, another folder) must not. A sample that is a file counts by its bytes; a
    sentence (tsv) or a record (jsonl) by itself."""
    return [(label, _sample_digest(item)) for item, label in samples]


def _sample_digest(item: Any) -> str:
    if isinstance(item, str) and Path(item).is_absolute() and Path(item).is_file():
        return file_digest(Path(item))
    return hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
