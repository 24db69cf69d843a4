"""Running one check script as a child process and streaming what it says.

The child gets no terminal (stdin closed, its own session and process group), unbuffered output with
colours kept, and a pipe for live JSON events. Its merged stdout/stderr is read in large chunks and
written to the log file as it arrives, so the full output is on disk however fast it comes; lines are
handed to the consumer through a queue that drops (and counts) lines rather than ever stalling the
child. Cancelling kills the whole tree: the process group, plus descendants that left it (DataLoader
workers), which are tracked with psutil while the check runs.

Two drivers share that logic (`_ChildRun`): the async `CheckRun` for the wizard, and a blocking one
behind `run_blocking` for the CLI, which so never imports asyncio (tens of milliseconds per command) and
waits on the child's pidfd instead of polling for its exit. psutil is imported only once a child runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from paddle_port_checks.config import ConfigError

from .state import COMPLETED, State, StepState, load_state, save_state, utc_now
from .steps import Step
from .workspace import Workspace, as_step, file_hash

if TYPE_CHECKING:
    import asyncio

    import psutil

EVENT_FD_ENV = "PADDLE_PORT_EVENT_FD"  # the name the checks read (paddle_port_checks.events)
# Inherited by every descendant, even one that left the process group and whose parent already died:
# the one trace that finds all of a run's processes at clean-up (the technique of Jenkins' BUILD_ID).
RUN_MARKER_ENV = "PADDLE_PORT_RUN_ID"
CHUNK_BYTES = 1 << 16
# A "line" longer than this is handed on in pieces, so one newline-less stream cannot eat the memory.
MAX_LINE_BYTES = 1 << 20
# Lines waiting for a slow consumer before newer ones are dropped from the live view (never from the log).
MAX_PENDING_LINES = 50_000
ERROR_TAIL_LINES = 20
TERMINATE_GRACE_S = 3.0  # SIGTERM, then SIGKILL after this long
DRAIN_GRACE_S = 1.0  # after the check exits, how long its leftovers may hold the pipes open
TRACK_INTERVAL_S = 1.0  # descendants that outlive their parent are also found by the run marker
EXIT_POLL_S = 0.02  # only where the exit cannot be waited for (no pidfd; asyncio's watcher)
# Colour codes are kept in live output and the log, but not in the error text stored and shown as plain text.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class OutputLine:
    """A line of the child's output, ANSI colours included, without its newline."""

    text: str


@dataclass(frozen=True)
class CheckEvent:
    """One live event from the check (see ARCHITECTURE.md, "Live events")."""

    data: dict[str, Any]


@dataclass(frozen=True)
class Finished:
    """The end of a run; always the last message. `result` is the check's JSON when it wrote a fresh one."""

    status: str  # passed | failed | error | cancelled
    exit_code: int | None
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class OutputLines:
    """The lines of one chunk of the child's output, ANSI colours included (see `CheckRun.batches`)."""

    texts: list[str]


Message = OutputLine | CheckEvent | Finished
Batch = OutputLines | CheckEvent | Finished


class _LineSplitter:
    """Cuts a byte stream into lines; the unfinished tail waits for the next chunk."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > MAX_LINE_BYTES:
            lines.append(self._tail)
            self._tail = b""
        return lines

    def finish(self) -> list[bytes]:
        tail, self._tail = self._tail, b""
        return [tail] if tail else []


def _decode_lines(lines: list[bytes]) -> list[str]:
    """Decode a chunk's lines in one go (a decode per line costs more than the rest of the pipeline);
    a CRLF line loses its CR. UTF-8 never spans a newline byte, so this equals decoding line by line."""
    if not lines:
        return []
    texts = b"\n".join(lines).decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    texts[-1] = texts[-1].removesuffix("\r")
    return texts


class _ChildRun:
    """One run of one step's script, whatever drives it: what the async and the blocking driver share.

    Starting (argv, environment, the state saved), turning output chunks and event lines into batches,
    tracking and killing the process tree, and deciding and recording the outcome. A driver owns the
    child (`_process`: anything with `pid` and `returncode`, the latter None until the child is reaped)
    and says where batches go (`_deliver`).
    """

    def __init__(self, ws: Workspace, step: Step | str, device: str, fresh: bool = False,
                 state: State | None = None) -> None:
        self.ws = ws
        self.step = as_step(step)
        self.device = device
        self.fresh = fresh
        self.state = state if state is not None else load_state(ws)
        self.dropped_lines = 0  # lines not handed to the consumer (still in the log file)
        self._cancel_requested = False
        self._process: Any = None
        self._tree: dict[int, psutil.Process] = {}
        self._pending_lines = 0  # lines delivered that the consumer has not taken yet
        self._unannounced_drops = 0
        self._tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
        self._started_wall = 0.0
        self._started_monotonic = 0.0
        self._result_before: tuple[int, int, int] | None = None
        self._finished: Finished | None = None
        self._run_id = uuid.uuid4().hex

    @property
    def step_state(self) -> StepState:
        return self.state.step(self.step.id)

    def command(self) -> list[str]:
        """The child's argv: the workspace's interpreter, unbuffered, on the chosen device."""
        argv = [self.ws.python(), "-u", str(self.ws.script_path(self.step))]
        if self.device:
            argv += ["--device", self.device]
        if self.fresh:
            argv.append("--fresh")
        return argv

    def cancel(self) -> None:
        """Stop the run: SIGTERM to the whole tree, SIGKILL after a short grace; status `cancelled`."""
        self._cancel_requested = True  # a plain flag, polled by the supervisor: safe from any thread

    def _deliver(self, batch: Batch) -> None:
        raise NotImplementedError

    def _refusal(self) -> Finished | None:
        """Why the run cannot start (cancelled already, no script), recorded; None when it can."""
        if self._cancel_requested:
            return self._finish(Finished("cancelled", None, None, None))
        script = self.ws.script_path(self.step)
        if not script.exists():
            message = (f"{self.ws.relative(script)} does not exist: "
                       f"generate it first (paddle-port generate {self.step.id})")
            return self._finish(Finished("error", None, None, message))
        return None

    def _spawn_options(self, event_fd: int) -> dict[str, Any]:
        """The child's set-up, common to both drivers (asyncio takes subprocess.Popen's arguments).
        Only what the child needs is done before it starts; the bookkeeping waits for `_record_start`."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{EVENT_FD_ENV: str(event_fd), RUN_MARKER_ENV: self._run_id})
        if "NO_COLOR" in env:
            env.pop("FORCE_COLOR", None)
        else:
            env["FORCE_COLOR"] = "1"
        self._result_before = _signature(self.ws.result_path(self.step))
        self._started_wall, self._started_monotonic = time.time(), time.monotonic()
        return {"cwd": self.ws.root, "env": env, "stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE,
                "stderr": subprocess.STDOUT, "start_new_session": True, "pass_fds": (event_fd,)}

    def _start_failed(self, error: OSError) -> Finished:
        return self._finish(Finished("error", None, None, f"could not start {self.command()[0]}: {error}"))

    def _record_start(self) -> None:
        """The run in the state, saved, once the child runs (the script is hashed while it starts)."""
        step_state = self._new_step_state("running")
        step_state.log_path = self.ws.relative(self.ws.log_path(self.step))
        step_state.pid = self._process.pid
        self.state.current_step = self.step.id
        save_state(self.ws, self.state)

    def _open_log(self) -> BinaryIO:
        self.ws.logs_dir.mkdir(parents=True, exist_ok=True)
        return open(self.ws.log_path(self.step), "wb", buffering=0)

    def _new_step_state(self, status: str) -> StepState:
        """A new run forgets the previous one; the hashes say which script and config this run used."""
        step_state = StepState(status=status, started_at=utc_now(), device=self._device_label(),
                               script_hash=file_hash(self.ws.script_path(self.step)),
                               config_hash=self.ws.config_hash())
        self.state.steps[self.step.id] = step_state
        return step_state

    def _device_label(self) -> str:
        """The device the check will use: the one asked for, else the config's."""
        if self.device:
            return self.device
        try:
            return self.ws.load_config().device
        except ConfigError:
            return ""

    def _offer_lines(self, lines: list[bytes], last: bool = False) -> None:
        """Deliver lines to the consumer unless it is too far behind (the log file has them anyway)."""
        texts = _decode_lines(lines)
        self._tail.extend(texts[-ERROR_TAIL_LINES:])
        room = max(0, MAX_PENDING_LINES - self._pending_lines)
        batch: list[str] = []
        if self._unannounced_drops and room and texts:  # the gap lies before these lines
            batch.append(self._drop_notice())
        batch += texts[:room]
        self._unannounced_drops += len(texts) - min(room, len(texts))
        self.dropped_lines += len(texts) - min(room, len(texts))
        if last and self._unannounced_drops:
            batch.append(self._drop_notice())
        if batch:
            self._pending_lines += len(batch)
            self._deliver(OutputLines(batch))

    def _drop_notice(self) -> str:
        log = self.ws.relative(self.ws.log_path(self.step))
        notice = f"[paddle-port: {self._unannounced_drops} lines not shown live; the full log is {log}]"
        self._unannounced_drops = 0
        return notice

    def _offer_event(self, line: bytes) -> None:
        """Every event, in order; events are few and carry results, so none is ever dropped."""
        try:
            data = json.loads(line)
        except ValueError:
            return  # not an event (a stray write to the descriptor): the output log has the story
        if isinstance(data, dict):
            self._deliver(CheckEvent(data))

    def _snapshot_tree(self) -> None:
        """Remember every descendant while the check runs: once it dies they are re-parented and hidden."""
        if self._process is None:
            return
        import psutil

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self._process.pid).children(recursive=True):
                self._tree.setdefault(child.pid, child)

    def _find_strays(self) -> None:
        """Add every process that carries this run's marker: descendants the snapshots missed."""
        strays = [pid for pid in _pids_marked(f"{RUN_MARKER_ENV}={self._run_id}") if pid not in self._tree]
        if not strays:
            return  # the usual case, which so needs no psutil
        import psutil

        for pid in strays:
            with contextlib.suppress(psutil.Error):
                self._tree[pid] = psutil.Process(pid)

    def _signal_tree(self, sig: signal.Signals, find_strays: bool = False) -> None:
        """Signal the check's process group and every descendant known (psutil guards against pid reuse)."""
        if self._process is None:
            return
        if find_strays:
            self._find_strays()
        if self._process.returncode is None:
            # Only while the leader is unreaped is its pid surely still our group's id; later the group's
            # members are found by the marker instead.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, sig)
        if self._tree:
            import psutil

            for process in self._tree.values():
                with contextlib.suppress(psutil.Error):
                    process.send_signal(sig)

    def _outcome(self, exit_code: int | None) -> Finished:
        if self._cancel_requested:
            return Finished("cancelled", exit_code, None, None)
        result = self._fresh_result()
        if result is None:
            tail = _ANSI_ESCAPE.sub("", "\n".join(self._tail))
            missing = self.ws.relative(self.ws.result_path(self.step))
            reason = f"the check {_how_it_ended(exit_code)} without writing {missing}"
            return Finished("error", exit_code, None, f"{reason}\n{tail}" if tail else reason)
        status = result.get("status")
        if status not in COMPLETED:
            return Finished("error", exit_code, result, f"the result has an unknown status {status!r}")
        return Finished(status, exit_code, result, result.get("error"))

    def _fresh_result(self) -> dict[str, Any] | None:
        """The result JSON, trusted only if this run wrote it: a new file, modified after the start."""
        path = self.ws.result_path(self.step)
        signature = _signature(path)
        # 2 s of slack covers file systems with coarse timestamps; the changed signature does the rest.
        if signature is None or signature == self._result_before or signature[1] / 1e9 < self._started_wall - 2.0:
            return None
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) else None

    def _finish(self, finished: Finished) -> Finished:
        """Record the end of the run in the state (saved) exactly once; return the message."""
        if self._finished is not None:
            return self._finished
        self._finished = finished
        step_state = self.step_state
        if self._process is None:  # it never started, so `_record_start` did not record the run yet
            step_state = self._new_step_state(finished.status)
        step_state.status, step_state.exit_code, step_state.error = finished.status, finished.exit_code, finished.error
        step_state.finished_at = utc_now()
        step_state.duration_s = round(time.monotonic() - self._started_monotonic, 3) if self._process else 0.0
        step_state.result_path = self.ws.relative(self.ws.result_path(self.step)) if finished.result else None
        step_state.pid = None
        save_state(self.ws, self.state)
        return finished


class CheckRun(_ChildRun):
    """One run of one step's script in an asyncio loop; iterate `stream()` once, call `cancel()` from anywhere.

    Pass `state` to have the run update that State object in place (the wizard's live copy);
    without it the run loads the saved state and updates that.
    """

    def __init__(self, ws: Workspace, step: Step | str, device: str, fresh: bool = False,
                 state: State | None = None) -> None:
        import asyncio

        super().__init__(ws, step, device, fresh=fresh, state=state)
        self._process: asyncio.subprocess.Process | None = None
        # Output lines travel in one batch per chunk read: a queue operation per line would cost more
        # than everything else the runner does with a line.
        self._queue: asyncio.Queue[Batch] = asyncio.Queue()

    def _deliver(self, batch: Batch) -> None:
        self._queue.put_nowait(batch)

    async def stream(self) -> AsyncIterator[Message]:
        """Start the check and yield its output lines and events as they come, then `Finished`."""
        batches = self.batches()
        try:
            async for batch in batches:
                if isinstance(batch, OutputLines):
                    for text in batch.texts:
                        yield OutputLine(text)
                else:
                    yield batch
        finally:
            await batches.aclose()  # closing mid-run must reach `batches`, which kills the tree

    async def batches(self) -> AsyncIterator[Batch]:
        """Like `stream()`, but output comes as read: one `OutputLines` per chunk, not a message per line.
        A consumer that draws lines (the wizard) then pays per chunk, and allocates no object per line,
        which under a flood is what keeps it answering keys."""
        import asyncio

        refusal = self._refusal()
        if refusal is not None:
            yield refusal
            return
        read_fd, write_fd = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(*self.command(), **self._spawn_options(write_fd))
        except OSError as error:
            os.close(read_fd)
            yield self._start_failed(error)
            return
        finally:
            os.close(write_fd)  # the child holds its own copy; ours would keep the pipe from reaching EOF
        self._record_start()
        supervisor = asyncio.ensure_future(self._supervise(read_fd))
        try:
            while True:
                batch = await self._queue.get()
                if isinstance(batch, OutputLines):
                    self._pending_lines -= len(batch.texts)
                yield batch
                if isinstance(batch, Finished):
                    return
        finally:
            if not supervisor.done():
                # The consumer went away mid-run (closed the stream, was cancelled): no orphans.
                self._cancel_requested = True
                self._signal_tree(signal.SIGKILL, find_strays=True)
                supervisor.cancel()
                self._finish(Finished("cancelled", None, None, None))

    async def _supervise(self, read_fd: int) -> None:
        """Own the child until it is gone and its pipes are drained, then post `Finished`."""
        import asyncio

        process = self._process
        assert process is not None and process.stdout is not None
        with self._open_log() as log:
            pumps = [
                asyncio.ensure_future(self._pump_output(process.stdout, log)),
                asyncio.ensure_future(self._pump_events(read_fd)),
            ]
            tracker = asyncio.ensure_future(self._track_tree())
            try:
                await self._wait_or_cancel(process)
                if not self._cancel_requested:  # let descendants finish their last words
                    await asyncio.wait(pumps, timeout=DRAIN_GRACE_S)
                # No orphans: whatever the check left behind dies with it.
                self._signal_tree(signal.SIGKILL, find_strays=True)
                await asyncio.wait(pumps, timeout=DRAIN_GRACE_S)
            finally:
                for task in (*pumps, tracker):
                    task.cancel()
        self._deliver(self._finish(self._outcome(process.returncode)))

    async def _wait_or_cancel(self, process: asyncio.subprocess.Process) -> None:
        """Wait for the child to exit; on cancel, terminate the tree and escalate after the grace."""
        import asyncio

        while process.returncode is None and not self._cancel_requested:
            await asyncio.sleep(EXIT_POLL_S)
        if process.returncode is None:
            self._snapshot_tree()
            self._signal_tree(signal.SIGTERM, find_strays=True)
            if not await _exited(process, TERMINATE_GRACE_S):
                self._signal_tree(signal.SIGKILL, find_strays=True)
                await _exited(process, None)  # SIGKILL cannot be refused

    async def _pump_output(self, stdout: asyncio.StreamReader, log: BinaryIO) -> None:
        splitter = _LineSplitter()
        while chunk := await stdout.read(CHUNK_BYTES):
            log.write(chunk)
            self._offer_lines(splitter.feed(chunk))
        self._offer_lines(splitter.finish(), last=True)

    async def _pump_events(self, read_fd: int) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        try:
            splitter = _LineSplitter()
            while chunk := await reader.read(CHUNK_BYTES):
                for line in splitter.feed(chunk):
                    self._offer_event(line)
            for line in splitter.finish():
                self._offer_event(line)
        finally:
            transport.close()

    async def _track_tree(self) -> None:
        """Snapshot the tree now and then; not at once, when the just-started child has no children yet."""
        import asyncio

        while True:
            await asyncio.sleep(TRACK_INTERVAL_S)
            self._snapshot_tree()


class _BlockingRun(_ChildRun):
    """The CLI's driver: `subprocess.Popen` and a selector over the output, the event pipe and the child's
    pidfd, so the process sleeps until something happens, and output is handed to callbacks as read."""

    def __init__(self, ws: Workspace, step: Step | str, device: str,
                 on_line: Callable[[str], None] | None, on_event: Callable[[dict[str, Any]], None] | None,
                 fresh: bool = False, state: State | None = None) -> None:
        super().__init__(ws, step, device, fresh=fresh, state=state)
        self._process: subprocess.Popen[bytes] | None = None
        self._on_line, self._on_event = on_line, on_event

    def _deliver(self, batch: Batch) -> None:
        if isinstance(batch, OutputLines):
            self._pending_lines -= len(batch.texts)  # taken at once: a blocking consumer is never behind
            if self._on_line is not None:
                for text in batch.texts:
                    self._on_line(text)
        elif isinstance(batch, CheckEvent) and self._on_event is not None:
            self._on_event(batch.data)

    def run(self) -> Finished:
        """Run the check to the end; any exception (Ctrl+C) kills the whole tree, is recorded, re-raised."""
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        read_fd, write_fd = os.pipe()
        try:
            self._process = subprocess.Popen(self.command(), **self._spawn_options(write_fd))
        except OSError as error:
            os.close(read_fd)
            return self._start_failed(error)
        finally:
            os.close(write_fd)  # the child holds its own copy; ours would keep the pipe from reaching EOF
        try:
            self._record_start()
            with self._open_log() as log:
                self._supervise(read_fd, log)
        except BaseException:
            self._cancel_requested = True
            self._snapshot_tree()
            self._signal_tree(signal.SIGKILL, find_strays=True)
            self._process.wait()  # SIGKILL cannot be refused
            self._finish(Finished("cancelled", self._process.returncode, None, None))
            raise
        finally:
            os.close(read_fd)
            self._process.stdout.close()
        return self._finish(self._outcome(self._process.returncode))

    def _supervise(self, read_fd: int, log: BinaryIO) -> None:
        """Read until the child is gone and its pipes are drained (bounded when leftovers hold them)."""
        import selectors

        process = self._process
        assert process is not None and process.stdout is not None
        splitters = {process.stdout.fileno(): _LineSplitter(), read_fd: _LineSplitter()}
        open_pipes = set(splitters)
        exit_fd = _pidfd(process.pid)
        with selectors.DefaultSelector() as selector, contextlib.ExitStack() as closing:
            for fd in open_pipes:
                selector.register(fd, selectors.EVENT_READ)
            if exit_fd is not None:
                closing.callback(os.close, exit_fd)
                selector.register(exit_fd, selectors.EVENT_READ)
            next_snapshot = time.monotonic() + TRACK_INTERVAL_S
            drain_until: float | None = None  # set when the child has exited
            killed = False
            while True:
                if process.returncode is None and exit_fd is None:
                    process.poll()
                now = time.monotonic()
                if process.returncode is None and now >= next_snapshot:
                    self._snapshot_tree()
                    next_snapshot = now + TRACK_INTERVAL_S
                if process.returncode is not None and drain_until is None:
                    drain_until = now + DRAIN_GRACE_S
                if drain_until is not None and (not open_pipes or now >= drain_until):
                    if killed or not open_pipes:
                        break
                    # Leftovers hold the pipes open: no orphans, and a last grace for their words.
                    self._signal_tree(signal.SIGKILL, find_strays=True)
                    killed, drain_until = True, now + DRAIN_GRACE_S
                timeout = (drain_until if drain_until is not None else next_snapshot) - now
                if exit_fd is None and process.returncode is None:
                    timeout = min(timeout, EXIT_POLL_S)
                for key, _ in selector.select(max(timeout, 0.0)):
                    if key.fd == exit_fd:
                        selector.unregister(exit_fd)
                        process.wait()  # exited: this reaps it at once
                    elif chunk := os.read(key.fd, CHUNK_BYTES):
                        self._take(key.fd, read_fd, splitters[key.fd].feed(chunk), log, chunk)
                    else:
                        selector.unregister(key.fd)
                        open_pipes.discard(key.fd)
            if not killed:  # whatever the check left behind dies with it
                self._signal_tree(signal.SIGKILL, find_strays=True)
        self._offer_lines(splitters[process.stdout.fileno()].finish(), last=True)
        for line in splitters[read_fd].finish():
            self._offer_event(line)

    def _take(self, fd: int, event_fd: int, lines: list[bytes], log: BinaryIO, chunk: bytes) -> None:
        if fd == event_fd:
            for line in lines:
                self._offer_event(line)
        else:
            log.write(chunk)
            self._offer_lines(lines)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the process exits (Linux 5.3+), else None: then poll."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _pids_marked(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (NAME=value). On Linux /proc is read directly and
    only this user's processes are opened (no other can carry it): far cheaper than psutil's objects."""
    name, _, value = marker.partition("=")
    if not os.path.isdir("/proc/self"):
        import psutil

        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.environ().get(name) == value:
                    found.append(process.pid)
        return found
    needle, uid, found = b"\0" + marker.encode() + b"\0", os.getuid(), []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid != uid:
                    continue
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if needle in b"\0" + environ.read() + b"\0":
                        found.append(int(entry.name))
    return found


async def _exited(process: asyncio.subprocess.Process, timeout: float | None) -> bool:
    """Wait for the exit itself. `process.wait()` also waits for the pipes to close, which a surviving
    descendant can hold open for ever; `returncode` is set as soon as the child is reaped."""
    import asyncio

    deadline = None if timeout is None else time.monotonic() + timeout
    while process.returncode is None:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        await asyncio.sleep(EXIT_POLL_S)
    return True


def _how_it_ended(exit_code: int | None) -> str:
    """Say "killed by SIGKILL" rather than "-9": an out-of-memory kill should be recognisable."""
    if exit_code is not None and exit_code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"


def _signature(path: Path) -> tuple[int, int, int] | None:
    """Identity of a file version: inode, mtime (ns), size. An atomic rewrite changes the inode."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def run_blocking(ws: Workspace, step: Step | str, device: str,
                 on_line: Callable[[str], None] | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 fresh: bool = False, state: State | None = None) -> Finished:
    """Run one check to the end for the CLI, without an event loop; Ctrl+C kills the whole tree, records
    the run as cancelled and re-raises."""
    return _BlockingRun(ws, step, device, on_line, on_event, fresh=fresh, state=state).run()
