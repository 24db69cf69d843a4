"""Reading a check's `result/<step>.json` and picking out what a porter looks at first.

The tables, the checklist and the report all lead with the same things (failing keys first, one
decisive number per step), so the choice is made here once, on the typed `StepResult`.
"""

from __future__ import annotations

from paddle_port_checks.schema import KeyDiff, SchemaError, StepResult, read_result

from .workspace import Workspace


def load_result(ws: Workspace, step_id: str) -> StepResult | None:
    """The check's result, or None when there is none; one this version cannot read (an old schema, a
    truncated file) becomes an error result that says so, so the porter sees why instead of nothing."""
    path = ws.result_path(step_id)
    try:
        return read_result(path)
    except FileNotFoundError:
        return None
    except (OSError, SchemaError) as problem:
        return StepResult(step=step_id, status="error", error=f"{ws.relative(path)} cannot be read: {problem}")


def without_result(step_id: str, status: str, error: str | None) -> StepResult:
    """What stands in for the result of a run that wrote none (a segfault, a timeout, a cancel): that run's
    own error, so no face shows an older result's numbers as this run's."""
    if status == "cancelled":
        reason = f"cancelled: {error}" if error else "cancelled before the check wrote a result"
    else:
        reason = error or "the check wrote no result"
    return StepResult(step=step_id, status="error", error=reason)


def sorted_keys(result: StepResult) -> list[KeyDiff]:
    """The compared keys, failing rows first, otherwise in the check's own order."""
    return sorted(result.keys, key=lambda row: row.passed)


def decisive(result: StepResult) -> str:
    """One line that decides the verdict: the worst failing key, or the passing key nearest its limit."""
    if result.status == "error":
        return f"error: {_last_line(result.error) or 'the check did not complete'}"
    rows = sorted_keys(result)
    if not rows:
        return "no keys compared"
    failing = [row for row in rows if not row.passed]
    if not failing and isinstance(result.details.get("decisive"), str):  # a step whose keys are not its numbers
        return str(result.details["decisive"])
    if not failing and all(_closeness(row) == 0 for row in rows):  # nothing to rank: say it is exact
        exact = f"all {len(rows)} keys exact" if len(rows) > 1 else f"{rows[0].key} exact"
        shown = next((row for row in rows if row.values), None)
        return f"{exact}; {shown.key} = {_number(shown.values[0])}" if shown and shown.values else exact
    worst = max(failing or rows, key=_closeness)
    if worst.problem:
        return f"{worst.key}: {worst.problem}"
    method = worst.method or "mean"
    # Passed by the float64 replay (the backward step) though over its threshold: "<=" would be untrue.
    replayed = worst.passed and worst.float64_diff is not None and (worst.statistic or 0.0) > worst.threshold
    relation = "<=" if worst.passed and not replayed else ">"
    line = f"{worst.key} {method} {_number(worst.statistic)} {relation} {_number(worst.threshold)}"
    if replayed:
        line += f", {_number(worst.float64_diff)} in float64: {worst.noise_verdict}"
    if worst.values:
        line += f" ({_number(worst.values[0])} vs {_number(worst.values[1])})"
    return line


def _closeness(row: KeyDiff) -> float:
    """How close a key is to (or how far past) its threshold; problems and NaN count as the worst."""
    if row.problem:
        return float("inf")
    value = row.statistic
    if value is None:
        return float("inf")  # strict JSON stores NaN as null
    if row.threshold <= 0:
        return float(value)
    return value / row.threshold


def _number(value: float | None) -> str:
    if value is None:
        return "nan"
    return f"{value:.2g}" if value else "0"


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
