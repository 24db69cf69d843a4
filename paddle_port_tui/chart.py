"""The per-layer difference along the network depth, drawn on a log scale, with the divergent layer marked.

Porters would rather look than read when an error grows through a network: a flat line at 1e-7 that jumps
to 1e-2 at one layer says "this layer" at a glance. The same data is drawn twice: as inline SVG for the
HTML report and as plain characters for the terminal wizard, so both live here.

`layers` is `first_divergence.layers` of the forward result: [{"index", "reference", "paddle", "type",
"mean", "rel"}]; the plotted value is `mean` (mean absolute difference of the layer outputs). A missing or
null value (NaN/Inf in strict JSON) is drawn at the top of the scale: it is the worst difference there is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

# Exact agreement (0.0) cannot sit on a log axis; it is drawn at this floor, well below float32 noise.
ZERO_FLOOR = 1e-12


def divergent_index(first_divergence: Mapping[str, Any] | None) -> int | None:
    """The `index` of the divergent layer pair, when the forward check found one."""
    if not first_divergence:
        return None
    index = first_divergence.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _values(layers: Sequence[Mapping[str, Any]]) -> list[float | None]:
    values: list[float | None] = []
    for layer in layers:
        value = layer.get("mean")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            values.append(max(float(value), ZERO_FLOOR))
        else:
            values.append(None)
    return values


def _rank(value: float | None) -> float:
    """A value for picking a bucket's worst: not finite is the worst there is."""
    return math.inf if value is None else value


def _log_range(values: list[float | None]) -> tuple[float, float]:
    """Decades that enclose every finite value (at least one decade wide)."""
    finite = [v for v in values if v is not None] or [ZERO_FLOOR, 1.0]
    low, high = math.floor(math.log10(min(finite))), math.ceil(math.log10(max(finite)))
    return float(low), float(max(high, low + 1))


def _position(layers: Sequence[Mapping[str, Any]], divergent: int | None) -> int | None:
    """The position in `layers` of the layer whose `index` is `divergent`."""
    for position, layer in enumerate(layers):
        if divergent is not None and layer.get("index") == divergent:
            return position
    return None


def svg_chart(
    layers: Sequence[Mapping[str, Any]],
    divergent: int | None = None,
    width: int = 720,
    height: int = 260,
    x_label: str = "layer (depth)",
) -> str:
    """An inline SVG line chart (log10 y axis) of each layer's mean difference; every label is escaped.
    `x_label` names what the points are (the backward step draws one per parameter's gradient)."""
    values = _values(layers)
    if not values:
        return ""
    low, high = _log_range(values)
    left, right, top, bottom = 64, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(position: int) -> float:
        return left + (plot_w * position / (len(values) - 1) if len(values) > 1 else plot_w / 2)

    def y_of(value: float | None) -> float:
        exponent = high if value is None else min(max(math.log10(value), low), high)
        return top + plot_h * (high - exponent) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="mean difference per {html.escape(x_label)}, log scale">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
    ]
    for exponent in range(int(low), int(high) + 1):
        y = y_of(10.0**exponent)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">1e{exponent}</text>')
    points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1f6feb" stroke-width="1.5"/>')
    marked = _position(layers, divergent)
    for i, (layer, value) in enumerate(zip(layers, values, strict=True)):
        label = html.escape(
            f"#{layer.get('index', i)} {layer.get('paddle', '')} ({layer.get('type', '')}): "
            f"mean {layer.get('mean')}, rel {layer.get('rel')}"
        )
        colour, radius = ("#d1242f", 5) if i == marked else ("#1f6feb", 2.5)
        parts.append(
            f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="{radius}" fill="{colour}">'
            f"<title>{label}</title></circle>"
        )
    if marked is not None:
        x = x_of(marked)
        name = html.escape(str(layers[marked].get("paddle") or layers[marked].get("reference") or ""))
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#d1242f" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" fill="#d1242f">'
            f"first divergence: {name}</text>"
        )
    parts.append(f'<text x="{left}" y="{height - 24}" font-size="11">{html.escape(x_label)} &#8594;</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def text_chart(
    layers: Sequence[Mapping[str, Any]], width: int, height: int, divergent: int | None = None, what: str = "layer"
) -> list[str]:
    """The same chart in plain characters: `height` rows of `width` columns, y axis labels included; `what`
    names the marked point in the footer ("X = layer 12", "X = parameter 3").

    Each layer is one column (layers are sampled by their worst value when there are more layers than
    columns); `*` plots a value, `X` the divergent layer, `^` a value that is not finite.
    """
    values = _values(layers)
    label_w = 6
    columns, rows = max(width - label_w - 1, 1), max(height - 1, 2)
    if not values:
        return ["(no layer data)"]
    low, high = _log_range(values)
    marked = _position(layers, divergent)
    count = min(columns, len(values))
    grid = [[" "] * count for _ in range(rows)]
    for column in range(count):
        start = column * len(values) // count
        bucket = range(start, max((column + 1) * len(values) // count, start + 1))
        worst = max(bucket, key=lambda i: _rank(values[i]))
        value = values[worst]
        exponent = high if value is None else min(max(math.log10(value), low), high)
        row = round((high - exponent) / (high - low) * (rows - 1))
        grid[row][column] = "X" if marked in bucket else ("^" if value is None else "*")
    lines = []
    for row, cells in enumerate(grid):
        exponent = high - (high - low) * row / (rows - 1)
        label = f"1e{exponent:.0f}" if row in (0, rows - 1) or row == (rows - 1) // 2 else ""
        lines.append(f"{label:>{label_w}}|" + "".join(cells))
    footer = f"{'':>{label_w}}+" + "-" * count
    if marked is not None:
        footer += f" X = {what} {divergent}"
    lines.append(footer[:width] if len(footer) > width else footer)
    return lines
