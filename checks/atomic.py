"""Atomic file writes and strict JSON, so a reader never sees a half-written result or state file.

A crash, a full disk or a killed process in the middle of a write leaves the previous file intact:
the new content goes to a temporary file in the same directory, is fsynced, then swapped in with
``os.replace`` (atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def json_safe(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types: NaN/Inf become None, numpy values become Python values.

    Strict JSON (no ``NaN`` tokens) is what other languages and ``json.loads(..., strict)`` readers accept.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(key): json_safe(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(item) for item in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    # numpy arrays and scalars, without importing numpy here: both offer tolist().
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):
        return json_safe(obj.tolist())
    raise TypeError(f"cannot write {type(obj).__name__} as JSON: {obj!r}")


def dumps_strict(obj: Any, indent: int | None = None) -> str:
    """Serialise to strict JSON (NaN/Inf as null); raises TypeError for values JSON cannot hold."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False, ensure_ascii=False)


class WriteError(OSError):
    """A file the tool writes could not be written (disk full, a read-only folder, a file where a folder
    belongs): one line naming the file, where the bare OSError would end a traceback."""

    def __init__(self, path: str | os.PathLike[str], cause: OSError) -> None:
        super().__init__(f"cannot write {shown_path(path)}: {_why_not_written(Path(path), cause)}")
        self.errno = cause.errno  # callers that test the errno (ENOSPC, EACCES) still can


# A run writes its evidence under result/.runs/<run id>/ before delivering it (delivery.py); a porter is told
# of the file as it will be named, result/forward_ref.npy, not of the staging folder.
_STAGED = re.compile(r"(^|/)result/\.runs/[^/]+/")


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as the porter reads it: relative to the working directory (a check runs in its workspace)."""
    target = Path(path).absolute()
    shown = str(target.relative_to(Path.cwd())) if target.is_relative_to(Path.cwd()) else str(target)
    return _STAGED.sub(r"\1result/", shown)


def _why_not_written(target: Path, cause: OSError) -> str:
    # mkdir over a file says only "File exists" / "Not a directory": name the file in the way instead.
    blocking = next((parent for parent in target.parents if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        return f"{shown_path(blocking)} is a file, not a folder"
    return cause.strerror or str(cause)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data`` all at once; parent directories are created. Raises `WriteError`."""
    target = Path(path)
    try:
        return _write_bytes_atomic(target, data)
    except OSError as error:
        raise WriteError(target, error) from error


def _write_bytes_atomic(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    # os.open with 0o666 lets the umask decide the permissions, as for any ordinary file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) all at once."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Replace ``path`` with ``obj`` as indented strict JSON; serialisation errors leave the old file."""
    return write_text_atomic(path, dumps_strict(obj, indent=2) + "\n")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not possible on every platform, so best effort."""
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
