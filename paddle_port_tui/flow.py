"""The one run path of the app: what `paddle-port run` and the wizard's run key both do.

Decide which scripts to (re)generate (missing and outdated ones are written, a porter's edits are kept),
take the steps' locks, start the detached run host that runs them in one worker and records each in the
state (`run_host`), follow its feed (`run_feed`), and say what the exit code is. The CLI and the wizard
differ only in their listener: one prints, the other posts messages to the UI.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from collections.abc import Callable, Iterator, Sequence

from paddle_port_checks.catalogue import STEPS, Step, step_by_id
from paddle_port_checks.device import DeviceError, parse_device

from .generate import known_status, write
from .run_feed import HOST_LOG_NAME, FeedFollower, run_dir
from .run_host import RunHost, launch
from .run_lock import RunLock, WorkspaceBusy
from .runner import Finished, RunListener
from .state import State, refresh_state, settle_abandoned_runs
from .workspace import Workspace, as_step

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
CANCEL_WAIT_S = 10.0  # how long an interrupted face waits for the host to record the cancel


class FlowListener(RunListener):
    """A run listener that also hears what happened to each step's script before the run."""

    def script_ready(self, step: Step, message: str) -> None:
        """One line on the step's script: generated, regenerated, up to date, or kept as edited."""


def selected_steps(names: Sequence[str]) -> list[Step]:
    """The steps named (by id or number) in flow order, or all of them; KeyError names the valid ones."""
    if not names:
        return list(STEPS)
    wanted = {step_by_id(name).id for name in names}
    return [step for step in STEPS if step.id in wanted]


def checked_device(ws: Workspace, device: str) -> str:
    """The device asked for (validated), else the config's: a device picked in the wizard must not steer
    a headless CI run, so the wizard passes its pick explicitly."""
    if device:
        parse_device(device)  # DeviceError names what is wrong
        return device
    return ws.load_config().device


def ensure_script(
    ws: Workspace, state: State, step: Step | str, force: bool = False, trust_record: bool = False
) -> str:
    """Write the step's script if missing or outdated; say what happened in one line.

    With `trust_record`, a script the render record already settles is not rendered again: that render
    costs more than the rest of a run before the check starts (see `generate.known_status`).
    """
    step = as_step(step)
    status = known_status(ws, state, step) if trust_record and not force else None
    backup = None
    if status is None:
        plan = write(ws, state, step, force=force)
        status, backup = plan.status, plan.backup
    script = ws.relative(ws.script_path(step))
    if status == "edited":
        if force:
            return f"{script}: overwritten (your version saved to {backup})" if backup else f"{script}: overwritten"
        return f"{script}: kept your edited script (paddle-port generate --force {step.id} replaces it, with a backup)"
    return {"missing": f"{script}: generated", "outdated": f"{script}: regenerated (template changed)"}.get(
        status, f"{script}: up to date"
    )


class FlowRun:
    """One run of some steps, from either face: scripts made ready, then a detached run host, followed.

    The run holds its steps' locks (`run_lock`) from `claim()` until its host has inherited them, so two
    runs of one step never mix their records and evidence. The host (`run_host`) runs the checks in a
    session of its own and writes what happens to the run's feed (`run_feed`); `run()` follows that feed
    and hands it to the listener, so the face may hang up and the check still ends and records its verdict.
    `cancel()` from anywhere; `detach()` stops following and leaves the run going.
    """

    def __init__(
        self,
        ws: Workspace,
        steps: Sequence[Step | str],
        device: str,
        state: State,
        fresh: bool = False,
        listener: FlowListener | None = None,
    ) -> None:
        self.ws, self.state, self.device, self.fresh = ws, state, device, fresh
        self.steps = [as_step(step) for step in steps]
        self.listener = listener or FlowListener()
        self.run_id = uuid.uuid4().hex
        self.lock = RunLock(ws, self.run_id, [step.id for step in self.steps])
        self.host: RunHost | None = None
        self._follower: FeedFollower | None = None
        self._cancel_requested = False
        self._detached = False

    @classmethod
    def attach(
        cls,
        ws: Workspace,
        run_id: str,
        host: RunHost,
        steps: Sequence[Step | str],
        state: State,
        listener: FlowListener | None = None,
    ) -> FlowRun:
        """A run another face started, whose host still runs: `run()` follows its feed from the beginning."""
        flow = cls(ws, steps, "", state, listener=listener)
        flow.run_id, flow.host = run_id, host  # its locks are its host's: this face takes none
        return flow

    def cancel(self) -> None:
        self._cancel_requested = True
        if self.host is not None:
            self.host.cancel()

    def detach(self) -> None:
        """Stop following (the face is going away); the run goes on and records its verdicts itself."""
        self._detached = True
        if self._follower is not None:
            self._follower.stop()

    def claim(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the steps' locks before the run: WorkspaceBusy naming the run that holds one, or, with
        `on_wait`, that line to `on_wait` and a wait until it is free."""
        if self.lock.held or self.host is not None:
            return
        waited: list[str] = []

        def waiting(line: str) -> None:
            waited.append(line)
            if on_wait is not None:
                on_wait(line)

        self.lock.take(waiting if on_wait is not None else None)
        if waited:  # the other run saved its records meanwhile: build on them, not on what was loaded before
            refresh_state(self.ws, self.state)

    def run(self, interrupt_cancels: bool = True) -> list[Finished]:
        """Run the steps (or follow the attached run) to the end. Ctrl+C or SIGTERM while following cancels
        the run, waits for the host to record it, and re-raises; a listener that fails does the same.
        Without `interrupt_cancels` (a face that only watches) an interrupt stops the following alone."""
        if self.host is None:
            try:
                self.claim()
                for step in self.steps:
                    self.listener.script_ready(step, ensure_script(self.ws, self.state, step, trust_record=True))
                if self._cancel_requested:
                    return self._not_begun("cancelled before it began")
                with _stops_held():  # a Ctrl-C now lands once the host is known, and so cancels it
                    self.host = launch(self.ws, self.lock, [step.id for step in self.steps], self.device, self.fresh)
            finally:
                self.lock.release()  # the host holds its inherited copies now
        host = self.host
        self._follower = FeedFollower(self.ws, self.run_id, self.listener, host.alive)
        try:
            if self._cancel_requested:  # cancel() came while the host was starting, before it was known
                host.cancel()
            if self._detached:  # detach() came before there was a follower to stop
                self._follower.stop()
            followed = self._follower.follow()
        except BaseException:
            if not interrupt_cancels:
                raise
            host.cancel()
            FeedFollower(self.ws, self.run_id, RunListener(), host.alive).follow(timeout_s=CANCEL_WAIT_S)
            self._settle()
            raise
        if followed.done:
            host.reap()
        self._settle()
        if self._detached:
            return [
                followed.finished.get(step.id) or Finished(step.id, "running", None, None, None) for step in self.steps
            ]
        return [followed.finished.get(step.id) or self._lost(step, host) for step in self.steps]

    def _settle(self) -> None:
        """Take in the records the host saved; a step its dead host left running reads as interrupted."""
        refresh_state(self.ws, self.state)
        settle_abandoned_runs(self.ws, self.state)

    def _not_begun(self, reason: str) -> list[Finished]:
        finished = [Finished(step.id, "cancelled", None, None, reason) for step in self.steps]
        for step, item in zip(self.steps, finished, strict=True):
            self.listener.step_finished(step, item)
        return finished

    def _lost(self, step: Step, host: RunHost) -> Finished:
        """A step the host never finished: it died (kill -9, a fault of paddle-port's own, in host.log)."""
        log = self.ws.relative(run_dir(self.ws, self.run_id) / HOST_LOG_NAME)
        finished = Finished(
            step.id, "error", None, None, f"the run's host (pid {host.pid}) ended before {step.id} finished; see {log}"
        )
        self.listener.step_finished(step, finished)
        return finished


@contextlib.contextmanager
def _stops_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back while the host is started and recorded (the host unblocks them for
    itself): an interrupt in between would leave a launched host nobody cancels."""
    stops = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def exit_code(statuses: Sequence[str]) -> int:
    """0 when every step that ran passed; 1 when some failed their comparison; 2 for errors and cancels."""
    if all(status == "passed" for status in statuses):
        return EXIT_PASSED
    return EXIT_FAILED if all(status in ("passed", "failed") for status in statuses) else EXIT_ERROR


__all__ = [
    "DeviceError",
    "FlowListener",
    "FlowRun",
    "WorkspaceBusy",
    "checked_device",
    "ensure_script",
    "exit_code",
    "selected_steps",
]
