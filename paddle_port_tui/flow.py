"""The one run path of the app: what `paddle-port run` and the wizard's run key both do.

Decide which scripts to (re)generate (missing and outdated ones are written, a porter's edits are kept),
run the steps in one worker (`runner.StepsRun`), record each in the state, and say what the exit code
is. The CLI and the wizard differ only in their listener: one prints, the other posts messages to the UI.
"""

from __future__ import annotations

from collections.abc import Sequence

from paddle_port_checks.catalogue import STEPS, Step, step_by_id
from paddle_port_checks.device import DeviceError, parse_device

from .generate import known_status, write
from .runner import Finished, RunListener, StepsRun
from .state import State
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
    """One run of some steps, from either face: scripts made ready, then the worker. `cancel()` from anywhere."""

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
        self._run = StepsRun(ws, self.steps, device, fresh=fresh, state=state, listener=self.listener)

    @property
    def device(self) -> str:
        return self._run.device

    def cancel(self) -> None:
        self._run.cancel()

    def run(self) -> list[Finished]:
        for step in self.steps:
            self.listener.script_ready(step, ensure_script(self.ws, self.state, step, trust_record=True))
        return self._run.run()


def exit_code(statuses: Sequence[str]) -> int:
    """0 when every step that ran passed; 1 when some failed their comparison; 2 for errors and cancels."""
    if all(status == "passed" for status in statuses):
        return EXIT_PASSED
    return EXIT_FAILED if all(status in ("passed", "failed") for status in statuses) else EXIT_ERROR


__all__ = ["DeviceError", "FlowListener", "FlowRun", "checked_device", "ensure_script", "exit_code", "selected_steps"]
