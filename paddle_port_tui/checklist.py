"""The checklist as data: one row per step, the same for the CLI table, the wizard's screen and the report.

Each row says the step's status as the porter should read it now (`stale` when the script or the config
changed since its run), the one line that decides it, when and where it ran, and its result if any.
"""

from __future__ import annotations

from dataclasses import dataclass

from paddle_port_checks.catalogue import STEPS, Step
from paddle_port_checks.schema import StepResult

from .results import decisive, load_result
from .state import State, StepState, display_status
from .workspace import Workspace


@dataclass(frozen=True)
class ChecklistRow:
    step: Step
    status: str  # pending | running | passed | failed | error | cancelled | stale
    decisive: str  # the line that decides the verdict, or the error's last line
    record: StepState  # the step's last run as the state has it
    result: StepResult | None  # the check's result, when the last run wrote one

    @property
    def ran_at(self) -> str:
        """When it ran, "11-28 01:50" (UTC), or ""."""
        stamp = self.record.finished_at or self.record.started_at or ""
        return stamp[5:16].replace("T", " ")

    @property
    def evidence(self) -> list[str]:
        return list(self.result.evidence) if self.result is not None else []


def checklist(ws: Workspace, state: State) -> list[ChecklistRow]:
    """Every step of the flow, in order."""
    rows = []
    for step in STEPS:
        status = display_status(ws, state, step.id)
        record = state.steps.get(step.id) or StepState()
        # Only a result the last run wrote: one that errored or was cancelled before writing one must not
        # show the run before it (its numbers, its evidence) as if they were this run's.
        result = load_result(ws, step.id) if status not in ("pending", "running") and record.result_path else None
        if result is not None:
            line = decisive(result)
        elif record.error:
            line = f"error: {(record.error.strip().splitlines() or [''])[-1]}"
        else:
            line = ""
        rows.append(ChecklistRow(step, status, line, record, result))
    return rows
