"""Reading a check's `result/<step>.json` and picking out what a porter looks at first.

The tables, the checklist and the report all lead with the same things (failing keys first, one
decisive number per step), so the choice is made here once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .workspace import Workspace


def load_result(ws: Workspace, step_id: str) -> dict[str, Any] | None:
    """The check's JSON result, or None when there is none or it cannot be read."""
    try:
        result = json.loads(ws.result_path(step_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def first_divergence(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The forward result's `first_divergence`, at the top level or under `details` (both are accepted)."""
    if not result:
        return None
    found = result.get("first_divergence") or (result.get("details") or {}).get("first_divergence")
    return dict(found) if isinstance(found, Mapping) else None


def sorted_keys(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The compared keys, failing rows first, otherwise in the check's own order."""
    rows = [row for row in result.get("keys") or [] if isinstance(row, dict)]
    return sorted(rows, key=lambda row: bool(row.get("passed")))


def decisive(result: dict[str, Any]) -> str:
    """One line that decides the verdict: the worst failing key, or the passing key nearest its limit."""
    if result.get("status") == "error":
        return f"error: {_last_line(result.get('error')) or 'the check did not complete'}"
    rows = sorted_keys(result)
    if not rows:
        return "no keys compared"
    failing = [row for row in rows if not row.get("passed")]
    if not failing and all(_closeness(row) == 0 for row in rows):  # nothing to rank: say it is exact
        exact = f"all {len(rows)} keys exact" if len(rows) > 1 else f"{rows[0].get('key')} exact"
        shown = next((row for row in rows if row.get("values")), None)
        return f"{exact}; {shown['key']} = {_number(shown['values'][0])}" if shown else exact
    worst = max(failing or rows, key=_closeness)
    if worst.get("problem"):
        return f"{worst.get('key')}: {worst['problem']}"
    method = worst.get("method") or "mean"
    relation = "<=" if worst.get("passed") else ">"
    line = f"{worst.get('key')} {method} {_number(worst.get(method))} {relation} {_number(worst.get('threshold'))}"
    if worst.get("values"):
        line += f" ({_number(worst['values'][0])} vs {_number(worst['values'][1])})"
    return line


def _closeness(row: dict[str, Any]) -> float:
    """How close a key is to (or how far past) its threshold; problems and NaN count as the worst."""
    if row.get("problem"):
        return float("inf")
    value, threshold = row.get(row.get("method") or "mean"), row.get("threshold")
    if not isinstance(value, (int, float)):
        return float("inf")  # strict JSON stores NaN as null
    if not isinstance(threshold, (int, float)) or threshold <= 0:
        return float(value)
    return value / threshold


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "nan" if value is None else str(value)
    return f"{value:.2g}" if value else "0"


def _last_line(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
