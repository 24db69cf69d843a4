"""Running check scripts in the porter's interpreter: one worker process for the steps of one run.

The worker (`paddle_port_checks.worker`) runs the steps' scripts one after the other in one process, so
torch and paddle are imported once per run instead of once per step. It gets no terminal (stdin closed,
its own session and process group), unbuffered output with colours kept, and a pipe for live events. Its
merged stdout/stderr is read in large chunks; marker lines carrying this run's nonce say where each
step's output begins and ends, so every step still gets its own log file, its own record in the state and
its own verdict. A step that kills the worker (a segfault) or hangs past `[run] timeout_s` is that
step's error: the tree is killed, a new worker starts for the steps that remain.

One blocking driver serves both faces: the CLI calls `StepsRun.run()` directly, the wizard in a thread
whose listener posts messages to the UI. The driver sleeps in a selector over the output, the event pipe,
the worker's pidfd and a wake-up pipe for `cancel()`, so it never polls. Cancelling kills the whole tree.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from paddle_port_checks.catalogue import Step, step_by_id
from paddle_port_checks.config import ConfigError
from paddle_port_checks.schema import Event, SchemaError, StepResult, parse_event, read_result
from paddle_port_checks.worker import marker_prefix, parse_marker

from .child_output import CHUNK_BYTES, LineSplitter, decode_lines, plain
from .process_tree import RUN_MARKER_ENV, ProcessTree, how_it_ended, pidfd
from .run_lock import RunLock
from .state import State, StepState, load_state, save_state, utc_now
from .workspace import Workspace, as_step, file_hash

EVENT_FD_ENV = "PADDLE_PORT_EVENT_FD"  # the name the checks read (paddle_port_checks.events)
WORKER_MODULE = "paddle_port_checks.worker"
ERROR_TAIL_LINES = 20
TERMINATE_GRACE_S = 3.0  # SIGTERM, then SIGKILL after this long
DRAIN_GRACE_S = 1.0  # after the worker exits, how long its leftovers may hold the pipes open
TRACK_INTERVAL_S = 1.0  # descendants that outlive their parent are also found by the run marker
EXIT_POLL_S = 0.02  # only where the exit cannot be waited for (no pidfd)


@dataclass(frozen=True)
class Finished:
    """The end of one step's run. `result` is the check's result when this run wrote it."""

    step: str
    status: str  # passed | failed | error | cancelled
    exit_code: int | None
    result: StepResult | None
    error: str | None
    result_path: str | None = None  # where `result` lies, workspace-relative: result/<step>.json, unless a newer
    # run of the step delivered first and this run's stayed in its staging folder (checks/delivery.py)


class RunListener:
    """What a driver tells its consumer, in order; every method is optional (override what you need).
    Called on the driver's thread: the wizard's listener hands everything on to the UI thread."""

    def step_started(self, step: Step) -> None:
        """A step's script starts (its log file is opened, its state saved as running)."""

    def lines(self, step: Step, texts: list[str]) -> None:
        """Lines of the step's output, ANSI colours included, without newlines."""

    def event(self, step: Step, event: Event) -> None:
        """A live event of the step (start, stage, key, warning, result)."""

    def step_finished(self, step: Step, finished: Finished) -> None:
        """The step's verdict, recorded in the state."""


class StepsRun:
    """One run of some steps, in flow order, in as few worker processes as their outcomes allow.

    Pass `state` to have the run update that State object in place (the wizard's live copy); without it
    the run loads the saved state. The run's step `lock` is inherited by every worker, so an orphaned
    worker keeps its steps locked (see `run_lock`). `cancel()` may be called from any thread.
    """

    def __init__(
        self,
        ws: Workspace,
        steps: Sequence[Step | str],
        device: str = "",
        fresh: bool = False,
        state: State | None = None,
        listener: RunListener | None = None,
        timeout_s: float | None = None,
        lock: RunLock | None = None,
    ) -> None:
        self.ws = ws
        self.lock = lock
        self.steps = [as_step(step) for step in steps]
        self.device = device
        self.fresh = fresh
        self.state = state if state is not None else load_state(ws)
        self.listener = listener or RunListener()
        self.timeout_s = timeout_s if timeout_s is not None else _configured_timeout(ws)
        self.run_id = lock.run_id if lock is not None else uuid.uuid4().hex
        self._cancel_requested = False
        # The wake-up pipe that lets cancel() interrupt the selector; open only while run() runs, and written
        # only under the lock, so a late cancel() never writes into a descriptor reused for another file.
        self._wake_lock = threading.Lock()
        self._wake_read = self._wake_write = -1
        self._finished: dict[str, Finished] = {}

    # --- the public face ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: SIGTERM to the whole tree, SIGKILL after a short grace; steps left are cancelled."""
        self._cancel_requested = True
        with self._wake_lock, contextlib.suppress(OSError):
            if self._wake_write >= 0:
                os.write(self._wake_write, b"x")

    def run(self) -> list[Finished]:
        """Run every step to its end; any exception (Ctrl+C, a listener that fails) kills the whole tree,
        records the step as cancelled and is re-raised."""
        with self._wake_lock:
            self._wake_read, self._wake_write = os.pipe()
        try:
            pending = list(self.steps)
            while pending and not self._cancel_requested:
                missing = [step for step in pending if not self.ws.script_path(step).exists()]
                for step in missing:
                    self._refuse(step)
                pending = [step for step in pending if step not in missing]
                if pending:
                    self._run_worker(pending)
                    pending = [step for step in pending if step.id not in self._finished]
            for step in pending:  # cancelled before they began: nothing ran, nothing is recorded in the state
                self._finished[step.id] = Finished(step.id, "cancelled", None, None, "cancelled before it began")
                self.listener.step_finished(step, self._finished[step.id])
            return [self._finished[step.id] for step in self.steps]
        finally:
            with self._wake_lock:
                for fd in (self._wake_read, self._wake_write):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                self._wake_read = self._wake_write = -1

    def command(self, steps: Sequence[Step], nonce: str) -> list[str]:
        """The worker's argv: the workspace's interpreter, unbuffered, the steps' scripts in order."""
        argv = [self.ws.python(), "-u", "-m", WORKER_MODULE, "--marker", nonce, "--run-id", self.run_id]
        if self.device:
            argv += ["--device", self.device]
        if self.fresh:
            argv.append("--fresh")
        return argv + [f"{step.id}={self.ws.script_path(step)}" for step in steps]

    # --- one worker --------------------------------------------------------------------------------
    def _run_worker(self, steps: list[Step]) -> None:
        """Start a worker for `steps` and follow it until it exits; every step it began is finished."""
        worker = _Worker(self, steps)
        try:
            worker.start()
        except OSError as error:
            # Not always the interpreter: reading the last result (a file where result/ belongs) fails here too.
            self._finish_unstarted(steps[0], f"could not start the check ({self.ws.python()}): {error}")
            return
        try:
            worker.follow()
        except BaseException:
            self._cancel_requested = True
            worker.kill()
            worker.settle(cancelled=True)
            raise
        worker.settle(cancelled=self._cancel_requested)

    def _refuse(self, step: Step) -> None:
        script = self.ws.relative(self.ws.script_path(step))
        self._finish_unstarted(step, f"{script} does not exist: generate it first (paddle-port generate {step.id})")

    def _finish_unstarted(self, step: Step, message: str) -> None:
        record = self._new_record(step, "error")
        self._record_end(step, record, Finished(step.id, "error", None, None, message), time.monotonic())

    # --- bookkeeping shared by the worker follower -------------------------------------------------
    def _new_record(self, step: Step, status: str) -> StepState:
        """A new run of a step forgets the previous one but for when it last passed (history, not a verdict);
        the hashes say which script and config it used."""
        previous = self.state.steps.get(step.id)
        record = StepState(
            status=status,
            started_at=utc_now(),
            device=self._device_label(),
            script_hash=file_hash(self.ws.script_path(step)),
            config_hash=self.ws.config_hash(),
            run_id=self.run_id,
            started_ns=time.time_ns(),
            host_pid=os.getpid(),
            last_passed_at=previous.last_pass() if previous is not None else None,
        )
        self.state.steps[step.id] = record
        return record

    def _device_label(self) -> str:
        if self.device:
            return self.device
        try:
            return self.ws.load_config().device
        except ConfigError:
            return ""

    def _record_end(self, step: Step, record: StepState, finished: Finished, started: float) -> None:
        record.status, record.exit_code, record.error = finished.status, finished.exit_code, finished.error
        record.finished_at = utc_now()
        record.duration_s = round(time.monotonic() - started, 3)
        record.result_path = (
            (finished.result_path or self.ws.relative(self.ws.result_path(step))) if finished.result else None
        )
        record.pid = record.host_pid = None
        save_state(self.ws, self.state, steps_only=True)
        self._finished[step.id] = finished
        self.listener.step_finished(step, finished)


class _StepInWorker:
    """The step the worker is running now: its log, its record, what its result file was before."""

    def __init__(self, run: StepsRun, step: Step, pid: int, worker: _Worker) -> None:
        self.step = step
        self.started = time.monotonic()
        # Taken when the worker started: its begin marker may be read after the script already wrote it.
        self.started_wall = worker.started_wall
        self.result_before = worker.results_before.get(step.id)
        self.tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
        run.ws.logs_dir.mkdir(parents=True, exist_ok=True)
        self.log: BinaryIO = open(run.ws.log_path(step), "wb", buffering=0)  # noqa: SIM115 (closed at its end)
        self.record = run._new_record(step, "running")
        self.record.log_path = run.ws.relative(run.ws.log_path(step))
        self.record.pid = pid
        run.state.current_step = step.id
        save_state(run.ws, run.state, steps_only=True)


class _Worker:
    """One worker process and the follower of its output, events and exit."""

    def __init__(self, run: StepsRun, steps: list[Step]) -> None:
        self.run = run
        self.steps = steps
        self.nonce = uuid.uuid4().hex[:16]
        self.tree = ProcessTree(run.run_id)
        self.process: subprocess.Popen[bytes] | None = None
        self.current: _StepInWorker | None = None
        self.preamble: list[bytes] = []  # output before the first step began (the worker's own start-up)
        self.preamble_tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
        self.idle_since = 0.0  # when the worker last started or ended a step: the clock of the timeout
        self.timed_out: str | None = None
        self._event_read = -1
        self._event_lines = LineSplitter()
        self._begun: set[str] = set()
        self._early_events: list[tuple[Step, Event]] = []  # read before their step's begin marker
        self._marker_prefix = marker_prefix(self.nonce).encode()
        self.started_wall = 0.0
        self.results_before: dict[str, tuple[int, int, int] | None] = {}

    def start(self) -> None:
        self.started_wall = time.time()
        self.results_before = {step.id: _signature(self.run.ws.result_path(step)) for step in self.steps}
        event_read, event_write = os.pipe()
        env = dict(os.environ)
        env.update(_configured_env(self.run.ws))
        env["PYTHONUNBUFFERED"] = "1"
        env.update({EVENT_FD_ENV: str(event_write), RUN_MARKER_ENV: self.run.run_id})
        if "NO_COLOR" in env:
            env.pop("FORCE_COLOR", None)
        else:
            env["FORCE_COLOR"] = "1"
        lock = self.run.lock
        inherited = (event_write, *lock.fds) if lock is not None else (event_write,)
        try:
            self.process = subprocess.Popen(
                self.run.command(self.steps, self.nonce),
                cwd=self.run.ws.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=inherited,
            )
        except OSError:
            os.close(event_read)
            raise
        finally:
            os.close(event_write)  # the child holds its own copy; ours would keep the pipe from reaching EOF
        os.set_blocking(event_read, False)  # a step's end drains it (see _drain_events)
        self._event_read = event_read
        self.tree.leader = self.process
        if lock is not None:
            lock.note_worker(self.process.pid)
        self.idle_since = time.monotonic()

    def kill(self) -> None:
        self.tree.snapshot()
        self.tree.signal(signal.SIGKILL, find_strays=True)
        if self.process is not None:
            self.process.wait()  # SIGKILL cannot be refused

    # --- following ---------------------------------------------------------------------------------
    def follow(self) -> None:
        """Read until the worker is gone and its pipes are drained (bounded when leftovers hold them)."""
        process = self.process
        assert process is not None and process.stdout is not None
        out_fd, event_fd, wake_fd = process.stdout.fileno(), self._event_read, self.run._wake_read
        output_lines = LineSplitter()
        open_pipes = {out_fd, event_fd}
        exit_fd = pidfd(process.pid)
        with selectors.DefaultSelector() as selector, contextlib.ExitStack() as closing:
            closing.callback(self._close_events)
            for fd in (out_fd, event_fd, wake_fd):
                selector.register(fd, selectors.EVENT_READ)
            if exit_fd is not None:
                closing.callback(os.close, exit_fd)
                selector.register(exit_fd, selectors.EVENT_READ)
            next_snapshot = time.monotonic() + TRACK_INTERVAL_S
            drain_until: float | None = None
            killed = stopping = False
            while True:
                if process.returncode is None and exit_fd is None:
                    process.poll()
                now = time.monotonic()
                if process.returncode is None and not stopping and (self.run._cancel_requested or self._overdue(now)):
                    stopping = True
                    self._terminate()
                if process.returncode is None and now >= next_snapshot:
                    self.tree.snapshot()
                    next_snapshot = now + TRACK_INTERVAL_S
                if process.returncode is not None and drain_until is None:
                    drain_until = now + DRAIN_GRACE_S
                if drain_until is not None and (not open_pipes or now >= drain_until):
                    if killed or not open_pipes:
                        break
                    # Leftovers hold the pipes open: no orphans, and a last grace for their words.
                    self.tree.signal(signal.SIGKILL, find_strays=True)
                    killed, drain_until = True, now + DRAIN_GRACE_S
                timeout = (drain_until if drain_until is not None else next_snapshot) - now
                if self.run.timeout_s and process.returncode is None:
                    timeout = min(timeout, max(self._deadline() - now, 0.0))
                if exit_fd is None and process.returncode is None:
                    timeout = min(timeout, EXIT_POLL_S)
                for key, _ in selector.select(max(timeout, 0.0)):
                    if key.fd == exit_fd:
                        selector.unregister(exit_fd)
                        process.wait()  # exited: this reaps it at once
                    elif key.fd == wake_fd:
                        selector.unregister(wake_fd)  # cancel() was called: the loop's top acts on it
                    elif (chunk := _read_ready(key.fd)) is None:
                        continue  # the events were taken already, at the end of their step
                    elif not chunk:
                        selector.unregister(key.fd)
                        open_pipes.discard(key.fd)
                    elif key.fd == event_fd:
                        self._take_events(chunk)
                    else:
                        self._take_output(output_lines.feed(chunk))
            if not killed:  # whatever the worker left behind dies with it
                self.tree.signal(signal.SIGKILL, find_strays=True)
        self._take_output(output_lines.finish())
        for line in self._event_lines.finish():
            self._take_event(line)
        process.stdout.close()

    def _close_events(self) -> None:
        os.close(self._event_read)
        self._event_read = -1  # never read again: the number may already name another file

    def _deadline(self) -> float:
        began = self.current.started if self.current is not None else self.idle_since
        return began + (self.run.timeout_s or 0.0)

    def _overdue(self, now: float) -> bool:
        if not self.run.timeout_s or now < self._deadline():
            return False
        what = self.current.step.id if self.current is not None else "the worker's start-up"
        self.timed_out = f"{what} ran longer than [run] timeout_s = {self.run.timeout_s:g} s and was stopped"
        return True

    def _terminate(self) -> None:
        """SIGTERM to the tree, SIGKILL after the grace (waited for here: the worker has no say in it)."""
        assert self.process is not None
        self.tree.snapshot()
        self.tree.signal(signal.SIGTERM, find_strays=True)
        deadline = time.monotonic() + TERMINATE_GRACE_S
        while self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(EXIT_POLL_S)
        if self.process.returncode is None:
            self.tree.signal(signal.SIGKILL, find_strays=True)
            self.process.wait()

    def _take_output(self, lines: list[bytes]) -> None:
        """Write complete lines to the current step's log and hand them on; act on the markers. Only whole
        lines are written, so a line cut across two reads is logged once, by the step it belongs to."""
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        if self._marker_prefix not in data:
            self._write(data, decode_lines(lines))
            return
        for raw in lines:
            at = raw.find(self._marker_prefix)
            found = parse_marker(self.nonce, raw[at:].decode("utf-8", errors="replace")) if at >= 0 else None
            if found is None:
                self._write(raw + b"\n", decode_lines([raw]))
                continue
            if at > 0:  # output without a final newline: the worker's marker follows it on the same line
                self._write(raw[:at] + b"\n", decode_lines([raw[:at]]))
            if found[0] == "begin":
                self._begin(step_by_id(found[1]))
            else:
                self._end(found[2])

    def _write(self, data: bytes, texts: list[str]) -> None:
        if self.current is None:
            self.preamble.append(data)
            self.preamble_tail.extend(texts[-ERROR_TAIL_LINES:])
            return
        self.current.log.write(data)
        self.current.tail.extend(texts[-ERROR_TAIL_LINES:])
        if texts:
            self.run.listener.lines(self.current.step, texts)

    def _take_events(self, chunk: bytes) -> None:
        for line in self._event_lines.feed(chunk):
            self._take_event(line)

    def _drain_events(self) -> None:
        """A step's events were written before its end marker: take all that wait before its verdict, so
        the listener hears them in order (they travel on their own pipe, read when it is ready)."""
        while self._event_read >= 0 and (chunk := _read_ready(self._event_read)):
            self._take_events(chunk)

    def _take_event(self, line: bytes) -> None:
        """Events travel on their own pipe, so they are routed by the step they name, not by the markers.
        One read before its step's begin marker waits for it: the listener hears a step start first."""
        event = parse_event(line)
        step = next((step for step in self.steps if event is not None and step.id == event.step), None)
        if event is None or step is None:  # a stray write: the output log has the story
            return
        if step.id in self._begun:
            self.run.listener.event(step, event)
        else:
            self._early_events.append((step, event))

    def _begin(self, step: Step) -> None:
        assert self.process is not None
        self.current = _StepInWorker(self.run, step, self.process.pid, self)
        if self.preamble:  # the worker's own start-up output belongs to the first step's log
            self.current.log.write(b"".join(self.preamble))
            self.preamble.clear()
        self._begun.add(step.id)
        self.run.listener.step_started(step)
        early = [event for of, event in self._early_events if of.id == step.id]
        self._early_events = [(of, event) for of, event in self._early_events if of.id != step.id]
        for event in early:
            self.run.listener.event(step, event)

    def _end(self, exit_code: int | None) -> None:
        self._drain_events()
        if self.current is not None:
            self._finish_current(self._outcome(self.current, exit_code))
        self.idle_since = time.monotonic()

    def _finish_current(self, finished: Finished) -> None:
        current, self.current = self.current, None
        assert current is not None
        current.log.close()
        self.run._record_end(current.step, current.record, finished, current.started)

    # --- after the worker exited -------------------------------------------------------------------
    def settle(self, cancelled: bool) -> None:
        """Finish the step the worker was in when it went away; a worker that died before its first step
        began costs that step (so a broken interpreter cannot loop)."""
        exit_code = self.process.returncode if self.process is not None else None
        if self.current is not None:
            current = self.current
            if cancelled and not self.timed_out:
                finished = Finished(current.step.id, "cancelled", exit_code, None, None)
            else:
                finished = self._outcome(current, exit_code, died=True)
            self._finish_current(finished)
        elif not cancelled and not any(step.id in self.run._finished for step in self.steps):
            step = self.steps[0]
            tail = plain("\n".join(self.preamble_tail))
            reason = self.timed_out or f"the check worker {how_it_ended(exit_code)} before {step.id} began"
            self.run._finish_unstarted(step, f"{reason}\n{tail}" if tail else reason)

    def _outcome(self, current: _StepInWorker, exit_code: int | None, died: bool = False) -> Finished:
        step = current.step
        result = self._fresh_result(current)
        if self.timed_out and died:
            self._deliver_error(current, self.timed_out)
            return Finished(step.id, "error", exit_code, None, self.timed_out)
        if isinstance(result, str):
            return Finished(step.id, "error", exit_code, None, result)
        if result is None:
            tail = plain("\n".join(current.tail))
            missing = self.run.ws.relative(self.run.ws.result_path(step))
            how = how_it_ended(exit_code) if died else f"exited with code {exit_code}"
            reason = f"the check {how} without writing {missing}"
            self._deliver_error(current, reason)
            return Finished(step.id, "error", exit_code, None, f"{reason}\n{tail}" if tail else reason)
        found, path = result
        return Finished(step.id, found.status, exit_code, found, found.error, self.run.ws.relative(path))

    def _deliver_error(self, current: _StepInWorker, reason: str) -> None:
        """A check that ended without a result leaves the last run's `result/<step>.json` (maybe "passed")
        and evidence behind: deliver this run's error in their place, so no file says an older verdict."""
        from paddle_port_checks.delivery import deliver_run
        from paddle_port_checks.schema import StepResult

        step = current.step.id
        result = StepResult(step=step, status="error", started_at=current.record.started_at, error=reason)
        result.run_id = f"{self.run.run_id}:{step}"
        with contextlib.suppress(OSError):  # the state has the error whatever the disk says
            deliver_run(self.run.ws.result_dir, result, [], f"{self.run.run_id}_{step}_ended")

    def _fresh_result(self, current: _StepInWorker) -> tuple[StepResult, Path] | str | None:
        """The result this run wrote and where: a new file, modified after its worker started, of this run
        (a check run by hand beside us may have delivered one since, and then ours stayed in its staging
        folder); a file this run wrote that cannot be read is the problem, in words."""
        from paddle_port_checks.delivery import staging_dir

        path = self.run.ws.result_path(current.step)
        signature = _signature(path)
        # 2 s of slack covers file systems with coarse timestamps; the changed signature does the rest.
        if signature is None or signature == current.result_before or signature[1] / 1e9 < current.started_wall - 2:
            return None
        ours = f"{self.run.run_id}:{current.step.id}"
        try:
            found = read_result(path)
            if found.run_id is not None and found.run_id != ours:  # another run's: look where ours stayed
                path = staging_dir(self.run.ws.result_dir, ours) / path.name
                found = read_result(path)
        except FileNotFoundError:
            return None
        except (OSError, SchemaError) as problem:
            return f"the check wrote a result that cannot be read: {problem}"
        return found, path


def _read_ready(fd: int) -> bytes | None:
    """What a pipe holds now (b"" at its end), or None when a non-blocking one holds nothing."""
    try:
        return os.read(fd, CHUNK_BYTES)
    except BlockingIOError:
        return None


def _signature(path: os.PathLike[str]) -> tuple[int, int, int] | None:
    """Identity of a file version: inode, mtime (ns), size. An atomic rewrite changes the inode."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _configured_env(ws: Workspace) -> dict[str, str]:
    """`[run] env` and the import roots, given to the worker at its start: a variable a framework reads when
    it is imported (FLAGS_*, CUDA_VISIBLE_DEVICES) must be set before the first step imports it."""
    try:
        config = ws.load_config()
    except ConfigError:
        return {}  # the check itself reports the config error
    roots = os.pathsep.join(str(root) for root in config.import_roots())
    existing = config.env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    return {**config.env, "PYTHONPATH": f"{roots}{os.pathsep}{existing}" if existing else roots}


def _configured_timeout(ws: Workspace) -> float | None:
    try:
        return ws.load_config().timeout_s or None
    except ConfigError:
        return None


class CallbackListener(RunListener):
    """A listener made of two plain callbacks: each output line, each event (for scripts and tests)."""

    def __init__(
        self, on_line: Callable[[str], None] | None = None, on_event: Callable[[Event], None] | None = None
    ) -> None:
        self.on_line, self.on_event = on_line, on_event

    def lines(self, step: Step, texts: list[str]) -> None:
        if self.on_line is not None:
            for text in texts:
                self.on_line(text)

    def event(self, step: Step, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


def run_blocking(
    ws: Workspace,
    step: Step | str,
    device: str,
    on_line: Callable[[str], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    fresh: bool = False,
    state: State | None = None,
) -> Finished:
    """Run one step to its end (see `StepsRun`); Ctrl+C kills the whole tree, records it, re-raises."""
    listener = CallbackListener(on_line, on_event)
    return StepsRun(ws, [step], device, fresh=fresh, state=state, listener=listener).run()[0]
