"""The backward step's pictures: each side's loss per iteration and each parameter's gradient difference, from
the result JSON only, in the wizard's Result view (text), the Markdown report (text) and the HTML one (SVG)."""

from __future__ import annotations

import io
import json
import re

from fake_checks import write_fake_workspace
from rich.console import Console

from paddle_port_checks.schema import StepResult
from paddle_port_tui.cli import main
from paddle_port_tui.report import export
from paddle_port_tui.state import load_state
from paddle_port_tui.training_chart import loss_svg_chart, loss_text_chart, training_series
from paddle_port_tui.tui.result_views import result_view

HOSTILE = "<script>alert('port')</script>"
REFERENCE, PADDLE = [2.30, 2.10, 1.90], [2.30, 2.10, 1.50]  # the runs part at the last iteration


def _key(name: str, mean: float, passed: bool = True, values: list[float] | None = None) -> dict:
    return {"key": name, "mean": mean, "max": mean, "min": 0.0, "threshold": 1e-5, "method": "mean", "passed": passed}


def backward_keys() -> list[dict]:
    """A backward result's keys in its own order: losses and rates, then gradients (the second one off)."""
    keys = []
    for i, (ours, theirs) in enumerate(zip(REFERENCE, PADDLE, strict=True)):
        keys.append({**_key(f"loss_{i}", abs(ours - theirs), ours == theirs), "values": [ours, theirs]})
        keys.append({**_key(f"lr_{i}", 0.0), "values": [1e-3, 1e-3]})
    keys.append(_key("grad/conv.weight", 1e-8))
    keys.append(_key(f"grad/{HOSTILE}", 3e-2, passed=False))
    keys.append(_key("grad/fc.bias", 2e-7))
    keys.append(_key("param/fc.bias", 1e-3, passed=False))
    return keys


def test_the_series_are_read_from_the_keys_in_the_results_order() -> None:
    series = training_series("backward", backward_keys())
    assert series is not None
    assert (series.reference_losses, series.paddle_losses) == (REFERENCE, PADDLE)
    assert [row["paddle"] for row in series.gradients] == ["conv.weight", HOSTILE, "fc.bias"]
    assert [row["mean"] for row in series.gradients] == [1e-8, 3e-2, 2e-7] and series.first_gradient == 1
    assert training_series("forward", backward_keys()) is None


def test_loss_text_chart_plots_both_series_and_where_they_part() -> None:
    lines = loss_text_chart(REFERENCE, PADDLE, 60, 10)
    plot = "\n".join(lines[:-3])
    # Iterations 0 and 1 agree (one `*` each), the last parts: an `r` above a `p`.
    assert plot.count("*") == 2 and plot.count("r") == 1 and plot.count("p") == 1
    row_of = {mark: next(i for i, line in enumerate(lines) if mark in line.split("|", 1)[-1]) for mark in "rp"}
    assert row_of["r"] < row_of["p"]
    assert lines[0].strip().startswith("2.3") and "1.5" in lines[len(lines) - 4]
    assert all(len(line) <= 60 for line in lines[:-2])


def test_loss_svg_chart_draws_two_polylines_of_every_iteration() -> None:
    svg = loss_svg_chart(REFERENCE, PADDLE)
    lines = re.findall(r'<polyline class="(\w+)" points="([^"]+)"', svg)
    assert [side for side, _ in lines] == ["reference", "paddle"]
    assert all(len(points.split()) == 3 for _, points in lines)
    assert "paddle loss_2 = 1.5" in svg and loss_svg_chart([], []) == ""


def test_the_result_view_shows_both_charts() -> None:
    raw = {"schema": 3, "step": "backward", "status": "failed", "keys": backward_keys()}
    result = StepResult.from_json({**raw, "schema": _schema()})
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(result_view(result, 100))
    text = console.file.getvalue()
    assert "loss per iteration, reference and paddle" in text and "r = reference, p = paddle" in text
    assert "gradient mean difference per parameter" in text and "X = parameter 1" in text


def _schema() -> int:
    from paddle_port_checks.schema import RESULT_SCHEMA

    return RESULT_SCHEMA


def test_reports_carry_the_charts_escaped(tmp_path, capsys) -> None:
    ws = write_fake_workspace(tmp_path, {})
    main(["run", "backward", "--workspace", str(ws.root)])
    capsys.readouterr()
    path = ws.result_path("backward")
    result = json.loads(path.read_text())
    result["keys"], result["status"] = backward_keys(), "failed"
    path.write_text(json.dumps(result))
    state = load_state(ws)
    page = export(ws, state, "html").read_text()
    assert 'aria-label="loss per iteration, reference and paddle"' in page
    assert 'aria-label="mean difference per parameter (model order), log scale"' in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    markdown = export(ws, state, "md").read_text()
    assert "Loss per iteration (r = reference, p = paddle):" in markdown and "X = parameter 1" in markdown
