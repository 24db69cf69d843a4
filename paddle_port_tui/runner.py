"""Running one check script as a child process and streaming what it says.

The child gets no terminal (stdin closed, its own session and process group), unbuffered output with
colours kept, and a pipe for live JSON events. Its merged stdout/stderr is read in large chunks and
written to the log file as it arrives, so the full output is on disk however fast it comes; lines are
handed to the consumer through a queue that drops (and counts) lines rather than ever stalling the
child. Cancelling kills the whole tree: the process group, plus descendants that left it (DataLoader
workers), which are tracked with psutil while the check runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import psutil

from paddle_port_checks.config import ConfigError

from .state import COMPLETED, State, StepState, load_state, save_state, utc_now
from .steps import Step
from .workspace import Workspace, as_step, file_hash

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
EXIT_POLL_S = 0.02
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


class CheckRun:
    """One run of one step's script; iterate `stream()` once, call `cancel()` from anywhere.

    Pass `state` to have the run update that State object in place (the wizard's live copy);
    without it the run loads the saved state and updates that.
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
        self._process: asyncio.subprocess.Process | None = None
        self._tree: dict[int, psutil.Process] = {}
        # Output lines travel in one batch per chunk read: a queue operation per line would cost more
        # than everything else the runner does with a line.
        self._queue: asyncio.Queue[Batch] = asyncio.Queue()
        self._pending_lines = 0
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
        if self._cancel_requested:
            yield self._finish(Finished("cancelled", None, None, None))
            return
        script = self.ws.script_path(self.step)
        if not script.exists():
            message = (f"{self.ws.relative(script)} does not exist: "
                       f"generate it first (paddle-port generate {self.step.id})")
            yield self._finish(Finished("error", None, None, message))
            return
        read_fd, write_fd = os.pipe()
        try:
            await self._start(write_fd)
        except OSError as error:
            os.close(read_fd)
            yield self._finish(Finished("error", None, None, f"could not start {self.command()[0]}: {error}"))
            return
        finally:
            os.close(write_fd)  # the child holds its own copy; ours would keep the pipe from reaching EOF
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

    async def _start(self, event_fd: int) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{EVENT_FD_ENV: str(event_fd), RUN_MARKER_ENV: self._run_id})
        if "NO_COLOR" in env:
            env.pop("FORCE_COLOR", None)
        else:
            env["FORCE_COLOR"] = "1"
        self._result_before = _signature(self.ws.result_path(self.step))
        self._started_wall, self._started_monotonic = time.time(), time.monotonic()
        self.ws.logs_dir.mkdir(parents=True, exist_ok=True)
        step_state = self._new_step_state("running")
        step_state.log_path = self.ws.relative(self.ws.log_path(self.step))
        self._process = await asyncio.create_subprocess_exec(
            *self.command(), cwd=self.ws.root, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True, pass_fds=(event_fd,),
        )
        step_state.pid = self._process.pid
        self.state.current_step = self.step.id
        save_state(self.ws, self.state)

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

    async def _supervise(self, read_fd: int) -> None:
        """Own the child until it is gone and its pipes are drained, then post `Finished`."""
        process = self._process
        assert process is not None and process.stdout is not None
        with open(self.ws.log_path(self.step), "wb", buffering=0) as log:
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
        self._queue.put_nowait(self._finish(self._outcome(process.returncode)))

    async def _wait_or_cancel(self, process: asyncio.subprocess.Process) -> None:
        """Wait for the child to exit; on cancel, terminate the tree and escalate after the grace."""
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

    def _offer_lines(self, lines: list[bytes], last: bool = False) -> None:
        """Queue lines for the consumer unless it is too far behind (the log file has them anyway)."""
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
            self._queue.put_nowait(OutputLines(batch))

    def _drop_notice(self) -> str:
        log = self.ws.relative(self.ws.log_path(self.step))
        notice = f"[paddle-port: {self._unannounced_drops} lines not shown live; the full log is {log}]"
        self._unannounced_drops = 0
        return notice

    async def _pump_events(self, read_fd: int) -> None:
        """Every event, in order; events are few and carry results, so none is ever dropped."""
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

    def _offer_event(self, line: bytes) -> None:
        try:
            data = json.loads(line)
        except ValueError:
            return  # not an event (a stray write to the descriptor): the output log has the story
        if isinstance(data, dict):
            self._queue.put_nowait(CheckEvent(data))

    async def _track_tree(self) -> None:
        """Remember every descendant while the check runs: once it dies they are re-parented and hidden."""
        while True:
            self._snapshot_tree()
            await asyncio.sleep(TRACK_INTERVAL_S)

    def _snapshot_tree(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self._process.pid).children(recursive=True):
                self._tree.setdefault(child.pid, child)

    def _find_strays(self) -> None:
        """Add every process that carries this run's marker: descendants the snapshots missed."""
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.pid not in self._tree and process.environ().get(RUN_MARKER_ENV) == self._run_id:
                    self._tree[process.pid] = process

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
        if self._process is None:  # it never started, so `_start` did not record the run yet
            step_state = self._new_step_state(finished.status)
        step_state.status, step_state.exit_code, step_state.error = finished.status, finished.exit_code, finished.error
        step_state.finished_at = utc_now()
        step_state.duration_s = round(time.monotonic() - self._started_monotonic, 3) if self._process else 0.0
        step_state.result_path = self.ws.relative(self.ws.result_path(self.step)) if finished.result else None
        step_state.pid = None
        save_state(self.ws, self.state)
        return finished


async def _exited(process: asyncio.subprocess.Process, timeout: float | None) -> bool:
    """Wait for the exit itself. `process.wait()` also waits for the pipes to close, which a surviving
    descendant can hold open for ever; `returncode` is set as soon as the child is reaped."""
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
    """Run one check to the end for the CLI; Ctrl+C cancels the run (whole tree) and re-raises."""

    async def consume() -> Finished:
        async for message in CheckRun(ws, step, device, fresh=fresh, state=state).stream():
            if isinstance(message, OutputLine) and on_line is not None:
                on_line(message.text)
            elif isinstance(message, CheckEvent) and on_event is not None:
                on_event(message.data)
            elif isinstance(message, Finished):
                return message
        raise RuntimeError("the run ended without a Finished message")

    return asyncio.run(consume())
