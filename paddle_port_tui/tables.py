"""Rich tables shared by the CLI and the wizard: a step's diff, the checklist, the layers around a divergence.

Every cell that holds text from a child process or a config (keys, errors, layer names) is a `Text`,
never a markup string, so `[red]` or `[/]` in a porter's output cannot restyle or break the table.
A verdict is always a glyph plus a word, so it reads without colour (NO_COLOR, 16-colour SSH terminals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from paddle_port_checks.schema import StepResult, to_json

if TYPE_CHECKING:
    from paddle_port_tui.state import State
    from paddle_port_tui.workspace import Workspace

# status -> (glyph, style); the glyph carries the meaning, the style only helps.
STATUS_GLYPHS: dict[str, tuple[str, str]] = {
    "passed": ("✓", "green"),
    "failed": ("✗", "red"),
    "error": ("!", "bold red"),
    "cancelled": ("-", "yellow"),
    "running": ("…", "cyan"),
    "stale": ("~", "yellow"),
    "pending": ("·", "dim"),
}


def verdict(status: str) -> Text:
    """A status as glyph + word, e.g. '✗ failed'."""
    glyph, style = STATUS_GLYPHS.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=style)


def number(value: Any) -> str:
    """A diff value in the short scientific form porters compare by eye; null (NaN/Inf) says so."""
    if value is None:
        return "nan/inf"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.3g}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"


def diff_table(result: StepResult | None, title: str | None = None) -> Table | Text:
    """One step's comparison, failing keys first; for a step that errored, the error text instead."""
    from paddle_port_tui.results import sorted_keys

    if result is None:
        return Text("no result yet", style="dim")
    if result.status == "error" or (result.error and not result.keys):
        text = Text(f"{result.step}: ", style="bold red")
        text.append(str(result.error or "the check did not complete"))
        return text
    table = Table(title=title or f"{result.step}: {result.status}", title_justify="left")
    table.add_column("key")
    for name in ("mean", "max", "min", "threshold"):
        table.add_column(name, justify="right")
    table.add_column("verdict")
    for row in sorted_keys(result):
        key = Text(row.key)
        if row.problem:
            key.append(f"  ({row.problem})", style="red")
        numbers = (number(value) for value in (row.mean, row.max, row.min, row.threshold))
        table.add_row(key, *numbers, verdict("passed" if row.passed else "failed"))
    return table


def checklist_table(ws: Workspace, state: State) -> Table:
    """Every step of the flow with its status (stale when script or config changed), verdict and timing."""
    from paddle_port_tui.checklist import checklist

    table = Table(title="checklist", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("status")
    table.add_column("decisive numbers")
    table.add_column("ran (UTC)")
    table.add_column("device")
    table.add_column("time", justify="right")
    for row in checklist(ws, state):
        duration = row.record.duration_s
        table.add_row(
            str(row.step.number),
            row.step.id,
            verdict(row.status),
            Text(row.decisive),
            Text(row.ran_at),
            Text(row.record.device or ""),
            f"{duration:.1f}s" if isinstance(duration, (int, float)) else "",
        )
    return table


def divergence_table(result: StepResult | None, around: int = 3) -> Table | None:
    """The layer pairs around the first divergence (a few before and after), the divergent one marked."""
    from paddle_port_tui.chart import divergent_index

    divergence = to_json(result.first_divergence) if result is not None else None
    layers = list((divergence or {}).get("layers") or [])
    if not layers:
        return None
    marked = divergent_index(divergence)
    positions = [i for i, layer in enumerate(layers) if layer.get("index") == marked]
    centre = positions[0] if positions else 0
    table = Table(title="layers around the first divergence", title_justify="left")
    for name, justify in (
        ("", "left"),
        ("#", "right"),
        ("reference layer", "left"),
        ("paddle layer", "left"),
        ("type", "left"),
        ("mean", "right"),
        ("rel", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for layer in layers[max(centre - around, 0) : centre + around + 1]:
        is_marked = marked is not None and layer.get("index") == marked
        table.add_row(
            Text("→" if is_marked else " ", style="bold red"),
            str(layer.get("index", "")),
            Text(str(layer.get("reference", ""))),
            Text(str(layer.get("paddle", ""))),
            Text(str(layer.get("type", ""))),
            number(layer.get("mean")),
            number(layer.get("rel")),
            style="bold" if is_marked else None,
        )
    return table
