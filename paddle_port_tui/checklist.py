"""The checklist as data: one row per step, the same for the CLI table, the wizard's screen and the report.

Each row says the step's status as the porter should read it now (`stale` when the script or the config
changed since its run), the one line that decides it, when and where it ran, its result if any, and the
lint findings that are part of its verdict ("passed · 1 warning"). A run that ended without a result (a
segfault, a cancel, a timeout) is the row: its status, its time and its reason; an earlier pass is
history ("last passed 12-01 06:52"), never the verdict, and evidence is listed only where it is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from paddle_port_checks.catalogue import STEPS, Step
from paddle_port_checks.schema import StepResult

from .findings import FindingGroup, grouped, verdict_label
from .results import decisive, load_result, without_result
from .state import State, StepState, display_status
from .workspace import Workspace, as_step


@dataclass(frozen=True)
class ChecklistRow:
    step: Step
    status: str  # pending | running | passed | failed | error | cancelled | stale
    decisive: str  # the line that decides the verdict, or why the run ended without one
    record: StepState  # the step's last run as the state has it
    result: StepResult | None  # the check's result, when the last run wrote one
    evidence: list[str] = field(default_factory=list)  # the result's evidence that is on disk, relative
    findings: list[FindingGroup] = field(default_factory=list)

    @property
    def ran_at(self) -> str:
        """When it ran, "11-28 01:50" (UTC), or ""."""
        return _short(self.record.finished_at or self.record.started_at)

    @property
    def label(self) -> str:
        """The status with what the findings add: "passed · 1 warning"."""
        return verdict_label(self.status, self.findings)

    @property
    def history(self) -> str:
        """ "last passed 12-01 06:52" when this run did not pass and an earlier one did; else ""."""
        if self.record.status in ("passed", "pending", "running") or not self.record.last_passed_at:
            return ""
        return f"last passed {_short(self.record.last_passed_at)}"

    @property
    def shown(self) -> StepResult | None:
        """What a result view shows: the result (with the evidence on disk), or for a run that wrote none its
        own error (never an older result); None for a step that has not run."""
        if self.result is not None:
            return replace(self.result, evidence=self.evidence)
        if self.record.status in ("error", "cancelled"):
            return without_result(self.step.id, self.record.status, self.record.error)
        return None


def checklist(ws: Workspace, state: State) -> list[ChecklistRow]:
    """Every step of the flow, in order."""
    return [checklist_row(ws, state, step) for step in STEPS]


def checklist_row(ws: Workspace, state: State, step: Step | str) -> ChecklistRow:
    """One step's row (the wizard's page asks for one)."""
    step = as_step(step)
    status = display_status(ws, state, step.id)
    record = state.steps.get(step.id) or StepState()
    # Only a result the last run wrote: one that errored or was cancelled before writing one must not
    # show the run before it (its numbers, its evidence) as if they were this run's.
    result = load_result(ws, step.id) if status not in ("pending", "running") and record.result_path else None
    if result is not None:
        line = decisive(result)
    elif record.status in ("error", "cancelled"):
        line = f"{record.status}: {_reason(record)}"
    else:
        line = ""
    evidence = [path for path in (result.evidence if result else []) if (ws.root / path).exists()]
    return ChecklistRow(step, status, line, record, result, evidence, grouped(result.lint) if result else [])


def _reason(record: StepState) -> str:
    """Why a run ended without a result, in one line. The runner writes the reason first and the output's
    tail after it (the tail's last line is usually the check's own last words, not the reason)."""
    lines = [line.strip() for line in (record.error or "").splitlines() if line.strip()]
    if lines:
        return lines[0]
    return "stopped before the check wrote a result" if record.status == "cancelled" else "the check wrote no result"


def _short(stamp: str | None) -> str:
    """An ISO-8601 UTC time as "11-28 01:50", or ""."""
    return (stamp or "")[5:16].replace("T", " ")
