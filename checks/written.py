"""What paddle-port wrote, so a file it did not write is never deleted or overwritten.

A port often has its own `result/forward_paddle.npy` or `forward_diff.log` from the tutorial's scripts:
the same names the checks write; a porter may point `[weights] output` at a file of theirs by mistake.
Every file a check writes is recorded in `result/.paddle_port_written.json` (path -> size, mtime and
sha256 as written). Before a file is rewritten it must be absent or paddle-port's own, unchanged (same
size and sha256). Anything else is handled by where it lies:

- under `result/` (evidence, results, and the default weights output and export folder): moved to
  `result/.before-paddle-port/` and the run says so. `result/` is paddle-port's folder, so a stranger
  there is a leftover of some other tool; moving it keeps it and lets the run go on;
- anywhere else (`[weights] output = "weights/model.pdparams"`, an export folder of the porter's, a path
  outside the workspace with `allow_outside`): the step stops with a one-line error naming the key and
  the file (exit 2). Such a file sits in the porter's own tree, perhaps one they ship; moving it into
  `result/` would hide it, so the choice (delete it, or point the key elsewhere) is theirs.

`[weights] mapping` and the `[input]` file are never rewritten at all: they are written only when absent,
and read as the porter left them from then on (checks/steps/weights.py, checks/inputs.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paddle_port_checks.atomic import WriteError, write_json_atomic
from paddle_port_checks.config import Config, ConfigError

MANIFEST = ".paddle_port_written.json"
ASIDE = ".before-paddle-port"
MANIFEST_SCHEMA = 2  # 1 (no schema field): {result-relative path: [size, mtime_ns]}


class ForeignFileError(FileExistsError):
    """A file outside `result/` that paddle-port would overwrite but did not write (or that changed since)."""

    def __init__(self, path: Path, why: str) -> None:
        self.path, self.why = path, why
        super().__init__(f"{path} {why}")


def _signature(path: Path) -> dict[str, Any] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _unchanged(recorded: dict[str, Any], path: Path) -> bool:
    """Whether the file is still the one recorded. The content decides (a `touch` or a copy keeps it ours);
    a record of schema 1 has no hash, only the size and mtime it had when written."""
    stat = path.stat()
    if recorded.get("size") != stat.st_size:
        return False
    if "sha256" in recorded:
        return bool(recorded["sha256"] == _sha256(path))
    return bool(recorded.get("mtime_ns") == stat.st_mtime_ns)


def _manifest_key(root: Path, path: Path) -> str:
    """Workspace-relative for a file inside the workspace, absolute otherwise. Lexical (no symlinks
    followed): the same config always names the same file the same way."""
    normal, top = Path(os.path.normpath(path.absolute())), Path(os.path.normpath(root.absolute()))
    return normal.relative_to(top).as_posix() if normal.is_relative_to(top) else str(normal)


def _read(result_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    if data.get("schema") == MANIFEST_SCHEMA:
        files = data.get("files")
        return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}
    # Schema 1 held only result/'s files, keyed relative to result/.
    return {
        f"{result_dir.name}/{relative}": {"size": value[0], "mtime_ns": value[1]}
        for relative, value in data.items()
        if isinstance(value, list) and len(value) == 2
    }


class lock_manifest:  # noqa: N801 (a context manager read as a verb: `with lock_manifest(dir):`)
    """The manifest's lock: runs of different steps write in one workspace at once. Not reentrant (an flock
    per open): the `*_locked` functions below are for callers that hold it."""

    def __init__(self, result_dir: Path) -> None:
        lock = result_dir / f"{MANIFEST}.lock"
        try:
            result_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(lock, "a")  # noqa: SIM115 (closed in __exit__)
        except OSError as error:
            raise WriteError(lock, error) from error

    def __enter__(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def written_unchanged(result_dir: Path, path: Path) -> bool:
    """Whether paddle-port wrote this file and nobody changed it since (what may be rewritten in place)."""
    recorded = _read(result_dir).get(_manifest_key(result_dir.parent, path))
    return recorded is not None and path.is_file() and _unchanged(recorded, path)


def _make_way(result_dir: Path, paths: Iterable[Path], known: set[Path], remove_ours: bool) -> list[str]:
    with lock_manifest(result_dir):
        return make_way_locked(result_dir, paths, known, remove_ours)


def make_way_locked(result_dir: Path, paths: Iterable[Path], known: set[Path], remove_ours: bool) -> list[str]:
    """Prepare each path for a rewrite (see the module docstring); returns a note per file moved aside.
    A stranger outside result/ raises ForeignFileError before any file of the call is touched. The caller
    holds `lock_manifest(result_dir)`."""
    root = result_dir.parent
    written = _read(result_dir)
    ours, strangers = [], []
    for path in paths:
        if not path.is_file():
            continue
        recorded = written.get(_manifest_key(root, path))
        if (recorded is not None and _unchanged(recorded, path)) or (recorded is None and path in known):
            ours.append(path)
            continue
        why = "was changed since paddle-port wrote it" if recorded else "was not written by paddle-port"
        relative = _manifest_key(result_dir, path)
        if Path(relative).is_absolute() or relative.startswith("../"):
            raise ForeignFileError(path, why)
        strangers.append((path, relative, why))
    for path in ours if remove_ours else []:
        path.unlink()
    notes = []
    for path, relative, why in strangers:
        aside = _free_name(result_dir / ASIDE / relative)
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, aside)
        notes.append(f"{result_dir.name}/{relative} {why}: moved to {aside.relative_to(root)}")
    return notes


def clear_for_rewrite(
    result_dir: Path, paths: Iterable[Path], known: Iterable[Path] = (), remove_ours: bool = True
) -> list[str]:
    """Remove the evidence files a check is about to rewrite when they are paddle-port's own (recorded and
    unchanged, or `known`: named by a result of an earlier paddle-port that kept no record); move anyone
    else's aside. Returns a note per file moved. Without `remove_ours`, only strangers move (a run that
    delivers its files at its end keeps the last run's evidence whole until then: `delivery`)."""
    return _make_way(result_dir, paths, set(known), remove_ours)


def make_way_for_output(config: Config, key: str, paths: Iterable[Path], remove_ours: bool = False) -> list[str]:
    """Before a step writes the output files of config key `key` (`weights.output`, `predict.export_dir`):
    a note per stranger moved aside from result/, or a ConfigError naming the key and the file when one
    lies elsewhere. `remove_ours` deletes the tool's own earlier files too (an export's stale program)."""
    try:
        return _make_way(config.root / "result", paths, set(), remove_ours)
    except ForeignFileError as error:
        raise ConfigError(
            config.path,
            key,
            f"would overwrite {error.path}, which {error.why}: move that file away, or choose another path",
        ) from None


def record_written(result_dir: Path, paths: Iterable[Path]) -> None:
    """Remember these files as paddle-port's own, as they are now."""
    with lock_manifest(result_dir):
        record_written_locked(result_dir, paths)


def record_written_locked(result_dir: Path, paths: Iterable[Path]) -> None:
    """`record_written` for a caller that holds `lock_manifest(result_dir)`."""
    root = result_dir.parent
    written = _read(result_dir)
    for path in paths:
        signature = _signature(path)
        if signature is not None:
            written[_manifest_key(root, path)] = signature
    write_json_atomic(result_dir / MANIFEST, {"schema": MANIFEST_SCHEMA, "files": written})


def _free_name(path: Path) -> Path:
    """The path, or path.1, path.2 ... when an earlier move already holds it."""
    candidate, number = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{number}")
        number += 1
    return candidate
