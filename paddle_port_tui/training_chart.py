"""The backward step's pictures: each side's loss per iteration, and each parameter's gradient difference.

A porter sees at a glance whether two loss curves part (and from which iteration) and which parameter's
gradient is off, where a key table lists forty rows. Drawn from the result JSON only (the app imports no
framework): the `loss_i` keys hold both losses as their `values`, the `grad/<name>` keys each gradient's mean
absolute difference, in the Paddle model's order (the order the step compared them). The gradient chart is
`chart.py`'s log-scale chart with one parameter per point; the loss chart is drawn here, on a linear scale
(two losses of one model are of one size), as SVG for the HTML report and as characters for the terminal.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GRADIENT_AXIS = "parameter (model order)"


@dataclass(frozen=True)
class TrainingSeries:
    """What the two charts draw, read from a backward result's keys."""

    reference_losses: list[float]
    paddle_losses: list[float]
    gradients: list[dict[str, Any]]  # chart.py's layer rows: index, paddle (the name), type, mean, rel
    first_gradient: int | None  # the `index` of the first gradient that failed

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_losses": self.reference_losses,
            "paddle_losses": self.paddle_losses,
            "gradients": self.gradients,
            "first_gradient": self.first_gradient,
        }


def _iteration(key: str) -> int | None:
    suffix = key.removeprefix("loss_")
    return int(suffix) if key.startswith("loss_") and suffix.isdigit() else None


def training_series(step: str, keys: Sequence[Mapping[str, Any]]) -> TrainingSeries | None:
    """The series of a backward result's keys (key documents, in the result's order); None for another step
    or a result with neither losses nor gradients. A loss that is not one value (reduction "none") is not
    drawn: its `values` are not stored."""
    if step != "backward":
        return None
    losses: dict[int, tuple[float, float]] = {}
    gradients: list[dict[str, Any]] = []
    first: int | None = None
    for key in keys:
        name = str(key.get("key", ""))
        iteration, values = _iteration(name), key.get("values")
        if iteration is not None and isinstance(values, (list, tuple)) and len(values) == 2:
            losses[iteration] = (float(values[0]), float(values[1]))
        elif name.startswith("grad/"):
            index = len(gradients)
            gradients.append(
                {"index": index, "paddle": name[len("grad/") :], "type": "gradient", "mean": key.get("mean")}
            )
            gradients[-1]["rel"] = key.get("max_rel")
            if first is None and not key.get("passed", True):
                first = index
    ordered = [losses[i] for i in sorted(losses)]
    if not ordered and not gradients:
        return None
    return TrainingSeries([a for a, _ in ordered], [b for _, b in ordered], gradients, first)


def _range(values: list[float]) -> tuple[float, float]:
    """The finite values' span, widened when flat so the curve sits mid-chart."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    low, high = min(finite), max(finite)
    if high - low <= 1e-12 * max(abs(high), 1.0):
        pad = max(abs(high) * 0.05, 1e-6)
        low, high = low - pad, high + pad
    return low, high


def loss_text_chart(reference: Sequence[float], paddle: Sequence[float], width: int, height: int) -> list[str]:
    """Both loss curves in characters: `r` the reference, `p` Paddle, `*` where they share a cell (agree to
    the chart's resolution); iterations spread over the width, y labels the top and bottom losses."""
    if not reference and not paddle:
        return ["(no loss data)"]
    count = max(len(reference), len(paddle))
    label_w = 10
    columns, rows = max(width - label_w - 1, count), max(height - 2, 2)
    low, high = _range([*reference, *paddle])

    def cell(iteration: int, value: float) -> tuple[int, int]:
        column = round(iteration * (columns - 1) / (count - 1)) if count > 1 else columns // 2
        level = (min(max(value, low), high) - low) / (high - low) if math.isfinite(value) else 1.0
        return round((1 - level) * (rows - 1)), column

    grid = [[" "] * columns for _ in range(rows)]
    for mark, series in (("r", reference), ("p", paddle)):
        for iteration, value in enumerate(series):
            row, column = cell(iteration, value)
            grid[row][column] = "*" if grid[row][column] not in (" ", mark) else mark
    lines = []
    for row, cells in enumerate(grid):
        value = high - (high - low) * row / (rows - 1)
        label = f"{value:.5g}" if row in (0, rows - 1) else ""
        lines.append(f"{label:>{label_w}}|" + "".join(cells).rstrip())
    axis = [" "] * columns
    for iteration in range(count):
        text = str(iteration)
        column = cell(iteration, low)[1]
        start = min(column, columns - len(text))
        axis[start : start + len(text)] = text
    lines.append(f"{'':>{label_w}}+" + "-" * columns)
    lines.append(f"{'':>{label_w}} " + "".join(axis).rstrip() + "  (iteration)")
    lines.append(f"{'':>{label_w}} r = reference, p = paddle, * = both")
    return lines


def loss_svg_chart(reference: Sequence[float], paddle: Sequence[float], width: int = 720, height: int = 220) -> str:
    """Both loss curves as inline SVG (linear y axis): the reference solid, Paddle dashed; every label escaped."""
    count = max(len(reference), len(paddle))
    if not count:
        return ""
    low, high = _range([*reference, *paddle])
    left, right, top, bottom = 72, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(iteration: int) -> float:
        return left + (plot_w * iteration / (count - 1) if count > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        level = (min(max(value, low), high) - low) / (high - low) if math.isfinite(value) else 1.0
        return top + plot_h * (1 - level)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="loss per iteration, reference and paddle">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{high:.5g}</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" font-size="11" text-anchor="end">{low:.5g}</text>',
    ]
    for iteration in range(count):
        parts.append(
            f'<text x="{x_of(iteration):.1f}" y="{top + plot_h + 14}" font-size="11" '
            f'text-anchor="middle">{iteration}</text>'
        )
    styles = (("reference", reference, "#1f6feb", ""), ("paddle", paddle, "#d1242f", ' stroke-dasharray="5 4"'))
    for side, series, colour, dash in styles:
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(series))
        parts.append(
            f'<polyline class="{side}" points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'
        )
        for i, value in enumerate(series):
            label = html.escape(f"{side} loss_{i} = {value!r}")
            parts.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="3" fill="{colour}">'
                f"<title>{label}</title></circle>"
            )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="11">iteration &#8594;   '
        f'<tspan fill="#1f6feb">&#8212; reference</tspan>   <tspan fill="#d1242f">- - paddle</tspan></text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
