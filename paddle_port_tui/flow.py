"""The one run path of the app: what `paddle-port run` and the wizard's run key both do.

Decide which scripts to (re)generate (missing and outdated ones are written, a porter's edits are kept),
run the steps in one worker (`runner.StepsRun`), record each in the state, and say what the exit code
is. The CLI and the wizard differ only in their listener: one prints, the other posts messages to the UI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from paddle_port_checks.catalogue import STEPS, Step, step_by_id
from paddle_port_checks.device import DeviceError, parse_device

from .generate import known_status, write
from .run_lock import RunLock, WorkspaceBusy
from .runner import Finished, RunListener, StepsRun
from .state import State, refresh_state
from .workspace import Workspace, as_step

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


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
    """One run of some steps, from either face: scripts made ready, then the worker. `cancel()` from anywhere.

    The run holds the workspace's run lock (`run_lock`) from `claim()` to its end,
    so two runs on one workspace never mix their state and results.
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
        self.ws, self.state = ws, state
        self.steps = [as_step(step) for step in steps]
        self.listener = listener or FlowListener()
        self.lock = RunLock(ws, uuid.uuid4().hex, [step.id for step in self.steps])
        self._run = StepsRun(ws, self.steps, device, fresh=fresh, state=state, listener=self.listener, lock=self.lock)

    @property
    def device(self) -> str:
        return self._run.device

    def cancel(self) -> None:
        self._run.cancel()

    def claim(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the workspace's run lock before the run: WorkspaceBusy naming the run that holds it, or,
        with `on_wait`, that line to `on_wait` and a wait until it is free."""
        if self.lock.held:
            return
        waited: list[str] = []

        def waiting(line: str) -> None:
            waited.append(line)
            if on_wait is not None:
                on_wait(line)

        self.lock.take(waiting if on_wait is not None else None)
        if waited:  # the other run saved its records meanwhile: build on them, not on what was loaded before
            refresh_state(self.ws, self.state)

    def run(self) -> list[Finished]:
        """Run the steps; a lock taken by `claim()` is let go at the end. (The wizard does not claim yet: it
        runs steps of one workspace side by side, which a workspace-wide lock would refuse.)"""
        try:
            for step in self.steps:
                self.listener.script_ready(step, ensure_script(self.ws, self.state, step, trust_record=True))
            return self._run.run()
        finally:
            self.lock.release()


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
