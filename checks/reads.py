"""What a piece of code read while it ran: the files it opened, the folders it listed, the environment
variables it looked up. The golden cache records this around a reference computation, so a reference that
reads a vocabulary, a config JSON, a data file or a variable is recomputed when that input changes, even
though no static fingerprint could have named it in advance.

How it is observed, and why that way:

- Files and folders through an audit hook (PEP 578): the `open` event (builtins.open, io.open, os.open,
  so also pathlib, json.load(open(...)), numpy, torch.load) and the `os.listdir` / `os.scandir` events
  (pathlib's iterdir, glob, os.walk). A hook cannot be removed, so one is installed once per process and
  returns at once for the other events (`id()` raises one: a few hundred nanoseconds each, measured by
  benchmarks/bench_reads.py).
- Environment variables have no audit event: `os.environ` is replaced, once per process, by a twin that
  shares its storage (writes still reach the real environment and the C library; `os.getenv` looks up
  the module's `environ`, so it is seen too) and notes each lookup. Code that bound `environ` before
  (`from os import environ`) or reads through C (`getenv(3)`) is not seen.

A read counts when the porter's code made it: the nearest code on the stack outside the standard library
and site-packages is the porter's (a factory, a dataset, a hook in a generated script), not the checks
library's, whose own reads (config, checkpoint, inputs, samples) are in the static key and whose calls into
torch are torch's business. Each read is noted with the porter's code files on the way to it, and goes to
two records, because a computation does not repeat every read it depends on:

- A `Recording` holds what was read while the computation ran (a nested one counts for the outer too).
- The process record holds, per watched workspace, what was read at any time. A module that reads its
  vocabulary at import, or a factory that memoises a config, reads once per process: the first step's
  reference sees it, a later step's in the same worker does not, yet depends on it just the same. A read
  whose porter code passes through the Paddle twin's files is left out by the cache (the port changing
  must not throw the reference away).

What is kept, so the record names the porter's inputs and stays stable from run to run:

- Library reads are left out: files under the interpreter's prefixes and any site-packages, the checks
  library's own files, and variables looked up by library or standard-library code (torch reading its
  settings, tempfile reading TMPDIR): those change with an installation, which the key covers otherwise.
- Code is left out: Python sources and bytecode (the reference code is keyed by its sources statically),
  listings made by the import system, and listings of `sys.path` folders (module discovery, not data).
- A path first opened for writing, and a variable first set, are the run's own output, not its input.
- The caller leaves out the folders the tool writes itself (result/, .paddle_port/).
- A bulk read of the environment (`dict(os.environ)`, `os.environ.copy()`, `.items()`, handing it to a
  subprocess) is not a read of each variable; `PADDLE_PORT_*` variables (the tool's own per-run
  plumbing, a new run id every run) never count.

This module observes only; digesting what was read and deciding reuse is golden.py's part.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import paddle_port_checks

TOOL_VARIABLE_PREFIX = "PADDLE_PORT_"
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".pyi", ".pyd", ".so"})
PSEUDO_FILE_SYSTEMS = ("/proc", "/sys", "/dev")
_PSEUDO_PREFIXES = tuple(f"{root}/" for root in PSEUDO_FILE_SYSTEMS)  # "/dev/", so "/development" is data
CHECKS_LIBRARY = Path(paddle_port_checks.__file__).resolve().parent
_WATCHED_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})
_LISTING_EVENTS = frozenset({"os.listdir", "os.scandir"})
# The mapping methods through which a lookup is made on the caller's behalf: seen in the stack between the
# caller and the lookup. Those that go through every variable mark a bulk read.
_MAPPING_FILES = frozenset({"<frozen os>", "<frozen _collections_abc>", __file__})
_BULK_ENVIRONMENT_READERS = frozenset({"copy", "__iter__", "__eq__", "__or__", "__ror__"})


@dataclass
class Recording:
    """What code read (absolute paths, variables with their value when first read). For the process record
    each entry also names the porter's code files that made the read (`made_by`)."""

    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    variables: dict[str, str | None] = field(default_factory=dict)
    written_files: set[str] = field(default_factory=set)
    written_variables: set[str] = field(default_factory=set)
    made_by: dict[str, frozenset[str]] = field(default_factory=dict)

    def note_file(self, path: str, reading: bool, made_by: frozenset[str] = frozenset()) -> None:
        if path in self.files or path in self.written_files:
            return  # the first use decides: a file the run wrote before reading it is its own output
        (self.files if reading else self.written_files).add(path)
        self._made_by(f"file:{path}", made_by)

    def note_folder(self, path: str, made_by: frozenset[str] = frozenset()) -> None:
        self.folders.add(path)
        self._made_by(f"folder:{path}", made_by)

    def note_variable(self, name: str, value: str | None, made_by: frozenset[str] = frozenset()) -> None:
        if name not in self.variables and name not in self.written_variables:
            self.variables[name] = value
            self._made_by(f"variable:{name}", made_by)

    def _made_by(self, entry: str, code: frozenset[str]) -> None:
        if code:
            self.made_by[entry] = self.made_by.get(entry, frozenset()) | code

    def merged(self, other: Recording) -> Recording:
        """Both records' reads (this one's values first)."""
        return Recording(
            files=self.files | other.files,
            folders=self.folders | other.folders,
            variables={**other.variables, **self.variables},
        )

    def without_code(self, left_out: Iterable[Path]) -> Recording:
        """The reads none of whose porter code is among `left_out` (the Paddle twin's files)."""
        excluded = {str(Path(path).resolve()) for path in left_out}

        def kept(entry: str) -> bool:
            return not excluded & {os.path.realpath(code) for code in self.made_by.get(entry, frozenset())}

        return Recording(
            files={path for path in self.files if kept(f"file:{path}")},
            folders={path for path in self.folders if kept(f"folder:{path}")},
            variables={name: value for name, value in self.variables.items() if kept(f"variable:{name}")},
        )

    def input_files(self, leave_out: Iterable[Path] = ()) -> list[Path]:
        """The files read that are the porter's inputs (see the module docstring), sorted."""
        skipped = _roots(leave_out)
        chosen = {Path(os.path.realpath(path)) for path in self.files}
        return sorted(path for path in chosen if _is_input(path, skipped) and not path.is_dir())

    def input_folders(self, leave_out: Iterable[Path] = ()) -> list[Path]:
        skipped = _roots(leave_out)
        chosen = {Path(os.path.realpath(path)) for path in self.folders}
        return sorted(path for path in chosen if _is_input(path, skipped) and path.suffix not in CODE_SUFFIXES)

    def input_variables(self) -> dict[str, str | None]:
        return {name: value for name, value in sorted(self.variables.items()) if not _is_tool_variable(name)}


# The recordings now active, innermost last: a read counts for every one of them (a reference computed
# inside another's computation is a dependency of both).
_ACTIVE: list[Recording] = []
# What the porter's code read in this process, for the workspace watched (None: nothing watched yet).
_process_reads: Recording | None = None
_watched_workspace: Path | None = None
_installed = False


def watch(workspace: Path) -> None:
    """Start observing this process for a workspace's computations: the hook and the environment twin are
    installed once, and the process record is started afresh when the workspace is another (a test
    session runs many workspaces in one process; a worker runs one)."""
    global _process_reads, _watched_workspace
    _install()
    workspace = workspace.resolve()
    if workspace != _watched_workspace:
        _process_reads, _watched_workspace = Recording(), workspace


def process_reads() -> Recording:
    """What the porter's code read in this process since the workspace was watched."""
    return _process_reads if _process_reads is not None else Recording()


@contextmanager
def recording() -> Iterator[Recording]:
    """Record what runs inside the block reads. Nests; the recording is complete when the block ends."""
    _install()
    current = Recording()
    _ACTIVE.append(current)
    try:
        yield current
    finally:
        _ACTIVE.remove(current)


def note_reused(files: Iterable[Path], folders: Iterable[Path], variables: Iterable[str]) -> None:
    """A cached result reused inside an active recording: what it read is read by the recording code too."""
    for recording_now in _ACTIVE:
        for path in files:
            recording_now.note_file(str(path), reading=True)
        for path in folders:
            recording_now.note_folder(str(path))
        for name in variables:
            recording_now.note_variable(name, os.environ.get(name))


def is_recording() -> bool:
    return bool(_ACTIVE)


def _observing() -> bool:
    return bool(_ACTIVE) or _process_reads is not None


def _install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_on_audit_event)
        os.environ = _RecordingEnviron(os.environ)  # noqa: B003 - the same storage, seen through a twin
        _installed = True


def _on_audit_event(event: str, args: tuple[Any, ...]) -> None:
    """Called for every audit event of the process once installed: the first line is the whole cost then."""
    if event not in _WATCHED_EVENTS or not _observing():
        return
    try:
        if event in _LISTING_EVENTS:
            _note_listing(args[0] if args else None, _frame(1))
        else:
            _note_open(args[0], args[1], args[2], _frame(1))
    except Exception:  # noqa: BLE001 - an exception here would fail the porter's own open(); a miss only recomputes
        return


def _note_open(target: Any, mode: str | None, flags: int, caller: FrameType | None) -> None:
    if isinstance(target, int):
        return  # an already open descriptor: its path was seen when it was opened
    path = os.path.abspath(os.fsdecode(target))
    if Path(path).suffix in CODE_SUFFIXES or "__pycache__" in path or not _may_be_input(path):
        return
    if mode is not None:  # builtins.open / io.open / io.open_code
        reading = "r" in mode or ("a" in mode and "+" in mode)
    else:  # os.open: its flags say whether the file's bytes can be read and are kept
        reading = flags & os.O_ACCMODE != os.O_WRONLY and not flags & os.O_TRUNC
    made_by = _porters_code(caller)
    for record in _records(made_by):
        record.note_file(path, reading, made_by)


def _note_listing(target: Any, caller: FrameType | None) -> None:
    if isinstance(target, int):
        return
    path = os.path.abspath(os.fsdecode(target) if target is not None else ".")
    if not _may_be_input(path) or _made_by_the_import_system(caller) or path in _sys_path_folders():
        return
    made_by = _porters_code(caller)
    for record in _records(made_by):
        record.note_folder(path, made_by)


def _may_be_input(path: str) -> bool:
    """Cheap, before the stack is walked: most files opened (torch's, paddle's, the interpreter's) are not."""
    return not path.startswith(_PSEUDO_PREFIXES) and not is_library_file(path)


def _records(made_by: frozenset[str]) -> list[Recording]:
    """Where a read made by this porter code goes: nowhere when no porter code made it."""
    return _all_records() if made_by else []


def _all_records() -> list[Recording]:
    """The active recordings and the process record."""
    return [*_ACTIVE, *([_process_reads] if _process_reads is not None else [])]


def _frame(depth: int) -> FrameType | None:
    """The caller `depth` frames above the one asking; None when the stack is shallower (a lookup made
    from C at the top of a thread): noting a read must never fail the code that made it."""
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None


def _porters_code(frame: FrameType | None) -> frozenset[str]:
    """The porter's code files on the stack from the read up to the checks library that called them; empty
    when the nearest code outside the standard library and site-packages is the checks library's (its own
    reads, the config, checkpoint, inputs and samples, are in the static key) or there is none."""
    chain: list[str] = []
    while frame is not None:
        filename = frame.f_code.co_filename
        if is_checks_library_file(filename):
            break
        if not is_library_file(filename) and filename not in _MAPPING_FILES:
            chain.append(filename)
        frame = frame.f_back
    return frozenset(chain)


def _made_by_the_import_system(frame: FrameType | None) -> bool:
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen importlib") or filename in _import_system_files():
            return True
        frame = frame.f_back
    return False


@functools.cache
def _import_system_files() -> frozenset[str]:
    """importlib.metadata and pkgutil list every sys.path folder to find distributions and modules."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return frozenset(str(path) for path in [*(stdlib / "importlib").rglob("*.py"), stdlib / "pkgutil.py"])


def _sys_path_folders() -> set[str]:
    return {os.path.abspath(entry or ".") for entry in sys.path}


class _RecordingEnviron(os._Environ):  # type: ignore[type-arg]  # os._Environ: the class os.environ is
    """`os.environ` once observed: the same storage, each lookup by a porter's code noted."""

    def __init__(self, real: Any) -> None:
        super().__init__(real._data, real.encodekey, real.decodekey, real.encodevalue, real.decodevalue)

    def __getitem__(self, key: str) -> str:
        try:
            value: str = super().__getitem__(key)
        except KeyError:
            _note_variable_read(key, None)
            raise
        _note_variable_read(key, value)
        return value

    def __iter__(self) -> Iterator[str]:
        _note_enumeration(_frame(1))
        return super().__iter__()

    def __setitem__(self, key: str, value: str) -> None:
        _note_variable_write(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        _note_variable_write(key)
        super().__delitem__(key)


# Where the environment was last enumerated: (frame id, instruction). `dict(os.environ)` and
# `{**os.environ}` enumerate the keys and then look each one up from C, all within one instruction of the
# caller: lookups made by that instruction are a bulk read, not reads of each variable.
_last_enumeration: tuple[int, int] = (0, -1)


def _note_enumeration(frame: FrameType | None) -> None:
    global _last_enumeration
    caller = _lookup_caller(frame, bulk_ends=False)
    if caller is not None:
        _last_enumeration = (id(caller), caller.f_lasti)


def _note_variable_read(name: Any, value: str | None) -> None:
    if not _observing() or not isinstance(name, str):
        return
    caller = _lookup_caller(_frame(2))
    if caller is None or is_library_file(caller.f_code.co_filename):
        return
    if (id(caller), caller.f_lasti) == _last_enumeration:
        return
    made_by = _porters_code(caller)
    for record in _records(made_by):
        record.note_variable(name, value, made_by)


def _note_variable_write(name: Any) -> None:
    if isinstance(name, str):
        for record in _all_records():  # whoever sets it, a later read sees the run's own value
            if name not in record.variables:
                record.written_variables.add(name)


def _lookup_caller(frame: FrameType | None, bulk_ends: bool = True) -> FrameType | None:
    """The frame that asked, past the mapping's own methods; None for a lookup made by a method that goes
    through every variable (when `bulk_ends`)."""
    while frame is not None and frame.f_code.co_filename in _MAPPING_FILES:
        if bulk_ends and frame.f_code.co_name in _BULK_ENVIRONMENT_READERS:
            return None
        frame = frame.f_back
    return frame


def _is_tool_variable(name: str) -> bool:
    return name.startswith(TOOL_VARIABLE_PREFIX)


@functools.cache
def is_library_file(filename: str) -> bool:
    """Installed code or data (the interpreter, the standard library, site-packages, the checks library),
    or frozen standard-library modules; not the porter's own."""
    if filename.startswith("<frozen"):
        return True
    path = Path(os.path.realpath(filename))
    return bool({"site-packages", "dist-packages"} & set(path.parts)) or _under(path, _library_roots())


@functools.cache
def is_checks_library_file(filename: str) -> bool:
    return not filename.startswith("<") and Path(os.path.realpath(filename)).is_relative_to(CHECKS_LIBRARY)


@functools.cache
def _library_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += [paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths]
    candidates.append(str(CHECKS_LIBRARY))
    # A root of one part ("/") would call every file a library's: an interpreter there proves nothing.
    return tuple(root for root in _roots(Path(c) for c in candidates) if len(root.parts) > 1)


def _roots(paths: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(os.path.realpath(path)) for path in paths))


def _under(path: Path, roots: Iterable[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _is_input(path: Path, leave_out: tuple[Path, ...]) -> bool:
    pseudo = any(path.is_relative_to(system) for system in PSEUDO_FILE_SYSTEMS)
    return not pseudo and not is_library_file(str(path)) and not _under(path, leave_out)
