"""What paddle-port wrote under result/, so a file it did not write is never deleted or overwritten.

A port often has its own `result/forward_paddle.npy` or `forward_diff.log` from the tutorial's scripts:
the same names the checks write. Every file a check writes is recorded (`result/.paddle_port_written.json`:
relative path -> size and mtime as written); before a check rewrites a path, a file there that is not the
one recorded is moved to `result/.before-paddle-port/` and the run says so.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from paddle_port_checks.atomic import write_json_atomic

MANIFEST = ".paddle_port_written.json"
ASIDE = ".before-paddle-port"


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _read(result_dir: Path) -> dict[str, list[int]]:
    try:
        data = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class _Locked:
    """The manifest's lock: the wizard and a CLI run may write in one workspace at once."""

    def __init__(self, result_dir: Path) -> None:
        result_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(result_dir / f"{MANIFEST}.lock", "a")  # noqa: SIM115 (closed in __exit__)

    def __enter__(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def clear_for_rewrite(result_dir: Path, paths: Iterable[Path], known: Iterable[Path] = ()) -> list[str]:
    """Remove the files a check is about to rewrite when they are paddle-port's own (recorded, or `known`:
    named by a result of an earlier paddle-port that kept no record); move anyone else's aside. Returns a
    note per file moved."""
    notes = []
    known = set(known)
    with _Locked(result_dir):
        written = _read(result_dir)
        for path in paths:
            signature = _signature(path)
            if signature is None:
                continue
            relative = path.relative_to(result_dir).as_posix()
            if written.get(relative) == signature or (relative not in written and path in known):
                path.unlink()
                continue
            aside = _free_name(result_dir / ASIDE / relative)
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, aside)
            notes.append(
                f"result/{relative} was not written by paddle-port: moved to {aside.relative_to(result_dir.parent)}"
            )
    return notes


def record_written(result_dir: Path, paths: Iterable[Path]) -> None:
    """Remember these files as paddle-port's own, as they are now."""
    with _Locked(result_dir):
        written = _read(result_dir)
        for path in paths:
            signature = _signature(path)
            if signature is not None:
                written[path.relative_to(result_dir).as_posix()] = signature
        write_json_atomic(result_dir / MANIFEST, written)


def _free_name(path: Path) -> Path:
    """The path, or path.1, path.2 ... when an earlier move already holds it."""
    candidate, number = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{number}")
        number += 1
    return candidate
