"""Golden reference evidence: the PyTorch side computed once, reused while nothing it depends on changed.

A porter fixing the Paddle code re-runs a step many times; the reference model, checkpoint, input and
data do not change between those runs, so recomputing them (and importing torch) is wasted time. Each
cached entry is keyed by a fingerprint of everything the reference result depends on: the reference
config, the source of the porter's reference modules, the checkpoint, the input/data files, the seed,
the device and the torch version. Any change gives a new fingerprint and a recomputation.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks.atomic import write_json_atomic

CACHE_FORMAT = 1


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; 'missing' when absent (so creating the file changes the fingerprint)."""
    if not path.is_file():
        return "missing"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_digest(spec: str, root: Path) -> str:
    """A digest of the code behind `module:callable`.

    For the porter's own code (inside the workspace) every .py file of its top-level package counts, since
    a model is usually spread over several modules; for installed code the distribution version does.
    """
    if not spec:
        return ""
    module_name = spec.partition(":")[0]
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.origin or not Path(found.origin).is_file():
        return f"unresolved:{module_name}"
    origin = Path(found.origin).resolve()
    top = module_name.split(".")[0]
    try:
        origin.relative_to(root.resolve())
    except ValueError:
        try:
            return f"{top}=={importlib.metadata.version(top)}"
        except importlib.metadata.PackageNotFoundError:
            return file_digest(origin)
    top_spec = importlib.util.find_spec(top)
    locations = list(top_spec.submodule_search_locations or []) if top_spec else []
    paths = sorted(path for location in locations for path in Path(location).rglob("*.py")) or [origin]
    return fingerprint([(str(path.relative_to(root.resolve())), file_digest(path)) for path in paths])


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
    """Reference arrays under `result/cache/<name>.npz` with a sidecar `<name>.json` naming the fingerprint."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.npz", self.directory / f"{name}.json"

    def load(self, name: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        arrays_path, meta_path = self._paths(name)
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return None
        if meta.get("fingerprint") != key or meta.get("format") != CACHE_FORMAT:
            return None
        try:
            with np.load(arrays_path, allow_pickle=False) as stored:
                return {array_name: stored[array_name] for array_name in meta["order"]}, meta.get("info", {})
        except (OSError, ValueError, KeyError):
            return None

    def store(self, name: str, key: str, arrays: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> None:
        arrays_path, meta_path = self._paths(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        # The meta file is written last: a crash in between leaves a stale meta, never a wrong match.
        meta_path.unlink(missing_ok=True)
        partial = arrays_path.with_suffix(".partial.npz")
        np.savez(partial, **{k: np.asarray(v) for k, v in arrays.items()})
        partial.replace(arrays_path)
        meta = {"format": CACHE_FORMAT, "fingerprint": key, "order": list(arrays), "info": dict(info)}
        write_json_atomic(meta_path, meta)

    def get_or_compute(
        self, name: str, key: str, compute: Callable[[], Mapping[str, np.ndarray]], fresh: bool = False
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays and a record of where they came from: `reused`, and when/with what they were computed."""
        if not fresh:
            cached = self.load(name, key)
            if cached is not None:
                return cached[0], {**cached[1], "reused": True}
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        # Recorded, not keyed: a reference computed with another torch build (another machine, a GPU
        # server) stays usable; the result shows which build made it, and --fresh recomputes.
        info = {"torch": framework_version("torch"), "computed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.store(name, key, arrays, info)
        return arrays, {**info, "reused": False}


def sample_digests(samples: Iterable[tuple[str, int]]) -> list[tuple[int, str]]:
    """Each image's content and label, in order: a replaced photo must invalidate the reference, a moved
    workspace (another machine, another folder) must not."""
    return [(label, file_digest(Path(path))) for path, label in samples]
