"""`paddle-port status` and `paddle-port cancel`: the runs that go on without a face, found and acted on.

A run is hosted by its own detached process (`run_host`), so after a dropped SSH session the porter logs in
again and asks what is running: each running step with its run, its processes, its log and its last lines;
`--follow` replays the run's feed (its output so far) and goes on live until it ends, and Ctrl-C then stops
the following, never the run. `cancel` asks the hosts to stop and waits until they recorded it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from paddle_port_checks.catalogue import step_by_id

from .child_output import plain
from .flow import FlowListener, FlowRun
from .run_host import RunningRun, orphaned_checks, running_runs
from .run_lock import local_clock
from .runner import Finished
from .state import State, refresh_state, settle_abandoned_runs
from .workspace import Workspace

TAIL_LINES = 10
CANCEL_WAIT_S = 15.0


@dataclass(frozen=True)
class RunningStep:
    """One step of a running run, as `status` shows it."""

    step: str
    run_id: str
    host_pid: int
    check_pid: int | None
    started_at: str | None
    log: str

    def line(self) -> str:
        check = f", check pid {self.check_pid}" if self.check_pid else ""
        if self.started_at is None:
            return f"{self.step}: queued in run {self.run_id[:8]} (host pid {self.host_pid}), after the steps before it"
        processes = f"run {self.run_id[:8]}, host pid {self.host_pid}{check}"
        return f"{self.step}: running since {local_clock(self.started_at)} ({processes}); log {self.log}"


def running_steps(ws: Workspace, state: State, runs: Sequence[RunningRun]) -> list[RunningStep]:
    """Every step of the running `runs` that runs or waits its turn, in flow order within each run."""
    steps: list[RunningStep] = []
    for running in runs:
        for step_id in running.steps:
            record = state.steps.get(step_id)
            log = ws.relative(ws.log_path(step_id))
            if record is None or record.run_id != running.run_id:  # not begun yet: queued behind the others
                steps.append(RunningStep(step_id, running.run_id, running.host.pid, None, None, log))
            elif record.status == "running":
                steps.append(RunningStep(step_id, running.run_id, running.host.pid, record.pid, record.started_at, log))
    return steps


def log_tail(ws: Workspace, step_id: str, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of a step's log, without colours (a status is read, not replayed)."""
    try:
        with open(ws.log_path(step_id), "rb") as log:
            log.seek(0, 2)
            log.seek(max(log.tell() - 64 * 1024, 0))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [plain(line) for line in text.splitlines()[-lines:]]


def follow(ws: Workspace, state: State, listener: FlowListener) -> list[Finished]:
    """Follow every running run to its end, its output so far first; the steps' ends, in order heard.
    Ctrl-C stops the following and leaves the runs going (KeyboardInterrupt reaches the caller)."""
    finished: list[Finished] = []
    for running in running_runs(ws):
        flow = FlowRun.attach(ws, running.run_id, running.host, running.steps, state, listener)
        try:
            finished += flow.run(interrupt_cancels=False)
        finally:
            refresh_state(ws, state)
    return finished


def cancel(ws: Workspace, state: State, step_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Stop every run that runs one of `step_ids` (any step when empty) and wait until each recorded it; a
    check whose host is gone is killed with its process group. (step, what became of it) for each step that
    was running or queued."""
    wanted = {step_by_id(name).id for name in step_ids}
    every_run = running_runs(ws)
    runs = [run for run in every_run if not wanted or wanted & set(run.steps)]
    begun = {step.step: step.started_at is not None for step in running_steps(ws, state, runs)}
    ours = [step for run in runs for step in run.steps if step in begun]
    orphans = [(step, pid) for step, pid in orphaned_checks(state, every_run) if not wanted or step in wanted]
    for running in runs:
        running.host.cancel()
    for _, pid in orphans:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # a worker leads its own session; nobody else would record a cancel
    deadline = time.monotonic() + CANCEL_WAIT_S
    while any(running.host.alive() for running in runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    refresh_state(ws, state)
    settle_abandoned_runs(ws, state)
    said = [(step, state.step(step).status if begun[step] else "cancelled before it began") for step in ours]
    return said + [(step, f"killed (its host was gone, check pid {pid})") for step, pid in orphans]
