"""Rich tables shared by the CLI and the wizard: a step's diff, the checklist, the layers around a divergence.

Every cell that holds text from a child process or a config (keys, errors, layer names) is a `Text`,
never a markup string, so `[red]` or `[/]` in a porter's output cannot restyle or break the table.
A verdict is always a glyph plus a word, so it reads without colour (NO_COLOR, 16-colour SSH terminals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from paddle_port_checks.schema import KeyDiff, StepResult, to_json

if TYPE_CHECKING:
    from paddle_port_tui.findings import FindingGroup
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


def verdict(status: str, findings: str = "") -> Text:
    """A status as glyph + word, e.g. '✗ failed'; with the findings' count, '✓ passed · 1 warning'."""
    glyph, style = STATUS_GLYPHS.get(status, ("?", ""))
    text = Text(f"{glyph} {status}", style=style)
    if findings:
        text.append(f" · {findings}", style="yellow")
    return text


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
    rows = sorted_keys(result)
    table = Table(title=title or f"{result.step}: {result.status}", title_justify="left")
    table.caption, table.caption_justify = rules_caption(rows), "left"
    table.add_column("key")
    for name in ("mean", "max", "min", "threshold"):
        table.add_column(name, justify="right")
    replayed = any(float64_cell(row) for row in rows)
    if replayed:
        table.add_column("float64", justify="right")
    table.add_column("verdict")
    for row in rows:
        key = Text(row.key)
        if row.problem:
            key.append(f"  ({row.problem})", style="red")
        cells: list[Any] = [number(value) for value in (row.mean, row.max, row.min, row.threshold)]
        if replayed:
            cells.append(Text(float64_cell(row), style="red" if row.noise_verdict == "math differs" else ""))
        table.add_row(key, *cells, verdict("passed" if row.passed else "failed"))
    return table


def rules_caption(rows: list[KeyDiff]) -> str | None:
    """The rules that decided, under the table (a column would squeeze the numbers on an 80-column SSH
    terminal): one rule said once, several each with the keys it decided."""
    keys_by_rule: dict[str, list[str]] = {}
    for row in rows:
        if row.rule:
            keys_by_rule.setdefault(row.rule, []).append(row.key)
    if len(keys_by_rule) <= 1:
        return next((f"rule: {rule}" for rule in keys_by_rule), None)

    def named(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

    return "rules: " + "; ".join(f"{rule} ({named(keys)})" for rule, keys in keys_by_rule.items())


def float64_cell(row: KeyDiff) -> str:
    """What the float64 replay says of a key: `1.20e-15 noise`, `9.70e-06 math differs`; where a side had no
    float64 kernel, the difference against the reference's own noise floor (`2x floor noise`, or the check's
    `12x the noise floor`); "" for a key that was not replayed (an exact step, a result from before it)."""
    verdict = row.noise_verdict
    if row.float64_diff is not None:
        return f"{number(row.float64_diff)} {verdict}".strip()
    if "floor" in verdict or not row.noise_floor:
        return verdict
    statistic = row.statistic
    return f"{statistic / row.noise_floor:.2g}x floor {verdict}".strip() if statistic is not None else verdict


def findings_view(groups: list[FindingGroup], heading: str = "") -> Group | None:
    """Each finding in three lines: what differs and where, the fix and the file:line, why it matters."""
    from paddle_port_tui.findings import count_label

    if not groups:
        return None
    lines = [Text(heading or f"Lint findings (part of the verdict): {count_label(groups)}", style="bold")]
    for group in groups:
        glyph, style = ("⚠ warning", "yellow") if group.severity == "warning" else ("! finding", "bold red")
        line = Text(f" {glyph}  ", style=style)
        line.append(group.headline())
        lines.append(line)
        if group.remedy():
            lines.append(Text(f"     {group.remedy()}", style="green"))
        lines.append(Text(f"     why: {group.why}", style="dim"))
    return Group(*lines)


def checklist_table(ws: Workspace, state: State) -> Table:
    """Every step of the flow with its status (stale when script or config changed), verdict and timing."""
    from paddle_port_tui.checklist import checklist
    from paddle_port_tui.findings import count_label

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
        decisive = Text(row.decisive)
        if row.history:
            decisive.append(f" ({row.history})", style="dim")
        table.add_row(
            str(row.step.number),
            row.step.id,
            verdict(row.status, count_label(row.findings)),
            decisive,
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
