"""What a step page's Result tab shows, built from the step's result JSON (or the live partial one).

The table first (failing rows first), then what explains it: for the forward step the first divergence
and the pitfall lint (also when the check passed: a BatchNorm momentum mismatch is invisible in eval
mode but ruins training), for the backward step its loss and gradient charts, for the weights step the
torch -> paddle mapping the porter should confirm.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from paddle_port_checks.schema import Finding, StepResult, to_json

CHART_HEIGHT = 8
# Columns given up, in this order, when the table is wider than the page: the rest stays readable
# instead of every cell being squeezed into "…".
DROPPABLE_COLUMNS = ("min", "max")


def fit_columns(table: Table, width: int, droppable: Iterable[str] = DROPPABLE_COLUMNS) -> Table:
    """Drop the least telling columns while `table` is wider than `width`; verdicts never wrap."""
    # Measured unconstrained: rich clamps a measurement to the console's width.
    console = Console(width=10_000, file=io.StringIO(), color_system=None)
    for name in droppable:
        if Measurement.get(console, console.options, table).maximum <= width:
            break
        table.columns[:] = [column for column in table.columns if column.header != name]
    for column in table.columns:
        if column.header == "verdict":
            column.no_wrap = True
    return table


def _value(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _lint_line(finding: Finding) -> str:
    """One lint finding as a sentence, with its fix when the check named one."""
    fix = f" (fix: {finding.fix})" if finding.fix else ""
    return (
        f"{finding.paddle_layer}.{finding.attribute}: paddle {_value(finding.paddle_value)}, "
        f"expected {_value(finding.expected_paddle_value)}{fix} — {finding.why}"
    )


def lint_view(result: StepResult) -> RenderableType | None:
    """The forward step's pitfall lint over every paired layer, whatever the verdict: part of it."""
    from paddle_port_tui.findings import grouped
    from paddle_port_tui.tables import findings_view

    return findings_view(grouped(result.lint))


def divergence_view(result: StepResult, width: int) -> RenderableType | None:
    """For the forward step: the first divergence, its lint findings and the per-layer chart (log scale)."""
    from paddle_port_tui.chart import text_chart
    from paddle_port_tui.tables import divergence_table

    divergence = result.first_divergence
    if divergence is None:
        return None
    parts: list[RenderableType] = []
    head = Text("First divergence: ", style="bold red")
    head.append(
        f"{divergence.paddle_layer} ({divergence.paddle_type}) vs reference "
        f"{divergence.reference_layer} ({divergence.reference_type})",
        style="",
    )
    if divergence.verdict:
        head.append(f"; verdict: {divergence.verdict}", style="")
    parts.append(head)
    if divergence.location:
        parts.append(Text(f" born {divergence.location}", style="yellow"))
    for finding in divergence.lint:
        parts.append(Text(f" lint: {_lint_line(finding)}", style="yellow"))
    if divergence.layers:
        parts.append(Text("per-layer mean difference along the depth (log scale):", style="bold"))
        lines = text_chart(to_json(divergence.layers), max(width - 2, 20), CHART_HEIGHT, divergence.index)
        parts.append(Text("\n".join(lines)))
    table = divergence_table(result)
    if table is not None:
        parts.append(table)
    return Group(*parts)


def training_view(result: StepResult, width: int) -> RenderableType | None:
    """For the backward step: both sides' loss per iteration, and each parameter's gradient difference at
    iteration 0 (log scale, X = the first that differs)."""
    from paddle_port_tui.chart import text_chart
    from paddle_port_tui.training_chart import loss_text_chart, training_series

    series = training_series(result.step, to_json(result.keys))
    if series is None:
        return None
    parts: list[RenderableType] = []
    if series.reference_losses:
        parts.append(Text("loss per iteration, reference and paddle:", style="bold"))
        lines = loss_text_chart(series.reference_losses, series.paddle_losses, max(width - 2, 24), CHART_HEIGHT)
        parts.append(Text("\n".join(lines)))
    if series.gradients:
        parts.append(Text("gradient mean difference per parameter at iteration 0 (log scale):", style="bold"))
        lines = text_chart(series.gradients, max(width - 2, 20), CHART_HEIGHT, series.first_gradient, "parameter")
        parts.append(Text("\n".join(lines)))
    return Group(*parts)


def mapping_view(result: StepResult) -> RenderableType | None:
    """For the weights step: the tensors matched by structure (or taken from the edited file) row by row,
    since those need the porter's eye, and only a count of those matched by name."""
    mapping = result.mapping
    if mapping is None or not mapping.rows:
        return None
    entries = mapping.rows
    order = {"structure": 0, "file": 1}
    listed = sorted((entry for entry in entries if entry.how != "name"), key=lambda entry: order.get(entry.how, 2))
    parts: list[RenderableType] = [Text(f"Weight mapping (torch -> paddle): {len(entries)} tensors", style="bold")]
    if listed:
        table = Table(title=f"{len(listed)} matched by structure or from the file: check these", title_justify="left")
        for name in ("torch", "paddle", "how", "transposed"):
            table.add_column(name, no_wrap=name in ("how", "transposed"))
        for entry in listed:
            table.add_row(Text(entry.torch), Text(entry.paddle), entry.how, "yes" if entry.transposed else "no")
        parts.append(table)
    by_name = len(entries) - len(listed)
    parts.append(Text(f"{by_name} tensor{'s' if by_name != 1 else ''} matched by name (not listed)."))
    if mapping.file:
        parts.append(
            Text(
                f"Mapping file: {mapping.file}. Edit a row there to correct it: the weights "
                "step uses the file as edited from the next run on.",
                style="dim",
            )
        )
    return Group(*parts)


def tipc_view(result: StepResult) -> RenderableType | None:
    """For the tipc step: each command of the run (failed rows red, with why), the total time against the
    limit, and the training-engine prediction beside the exported model's."""
    from paddle_port_tui.tipc_table import tipc_summary

    return tipc_summary(result)


def result_view(result: StepResult | None, width: int, history: str = "") -> RenderableType:
    """The result table (failing rows first), warnings, what explains the result, then evidence paths;
    `history` ("last passed 12-01 06:52") under a run that did not pass, never in place of its verdict."""
    from paddle_port_tui.tables import diff_table

    if result is None:
        return Text("No result yet: press r to run this step.", style="dim")
    table = diff_table(result)
    parts: list[RenderableType] = [fit_columns(table, width) if isinstance(table, Table) else table]
    if history:
        parts.append(Text(f"History: {history} (an earlier run; not this run's verdict)", style="dim"))
    for warning in result.warnings:
        parts.append(Text(f"⚠ {warning}", style="yellow"))
    views = (
        divergence_view(result, width),
        training_view(result, width),
        lint_view(result),
        mapping_view(result),
        tipc_view(result),
    )
    for view in views:
        if view is not None:
            parts.append(view)
    if result.evidence:
        parts.append(Text("Evidence: " + ", ".join(result.evidence), style="dim"))
    return Group(*parts)
