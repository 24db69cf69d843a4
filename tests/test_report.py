"""Report export (md, html, json) and the per-layer chart: every step present, child text escaped."""

from __future__ import annotations

import json
import re

import pytest
from fake_checks import write_fake_workspace

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.chart import svg_chart, text_chart
from paddle_port_tui.cli import main
from paddle_port_tui.report import build_report, export
from paddle_port_tui.state import load_state

HOSTILE = "<script>alert('port')</script>"
LAYERS = [
    {
        "index": i,
        "reference": f"layer{i}",
        "paddle": f"layer{i}",
        "type": "Conv2D",
        "mean": 1e-7 * (10 ** (i - 3) if i > 3 else 1),
        "rel": 1e-6,
    }
    for i in range(8)
]
LAYERS[5]["paddle"] = HOSTILE


@pytest.fixture
def ran_workspace(tmp_path, capsys):
    """Forward passed, data failed, metric crashed; the forward result carries hostile text and a divergence."""
    ws = write_fake_workspace(tmp_path, {"data": "fail", "metric": "crash"})
    main(["run", "forward", "data", "metric", "--workspace", str(ws.root)])
    capsys.readouterr()
    path = ws.result_path("forward")
    result = json.loads(path.read_text())
    result["warnings"] = [f"child said {HOSTILE}"]
    result["keys"][0]["key"] = HOSTILE
    result["first_divergence"] = {
        "index": 4,
        "layers": LAYERS,
        "reference_layer": "layer4",
        "paddle_layer": "layer4",
        "reference_type": "Conv2d",
        "paddle_type": "Conv2D",
        "verdict": "layer",
    }
    result["environment"] = {"python": "3.11", "torch": "2.13.0", "paddle": "3.3.1", "device": "cpu"}
    path.write_text(json.dumps(result))
    return ws


def test_report_holds_every_step_with_status_times_and_environment(ran_workspace):
    report = build_report(ran_workspace, load_state(ran_workspace))
    assert [step["id"] for step in report["steps"]] == [step.id for step in STEPS]
    assert [step["status"] for step in report["steps"]] == ["passed", "failed", "error"] + ["pending"] * (
        len(STEPS) - 3
    )
    forward = report["steps"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", forward["started_at"])
    assert forward["device"] == "cpu" and forward["log"].endswith("forward.log")
    assert report["environment"]["paddle"] == "3.3.1" and report["passed"] is False
    assert report["steps"][1]["decisive"].startswith("features mean")  # the failing key decides


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_every_format_lists_every_step_and_escapes_child_text(ran_workspace, fmt):
    path = export(ran_workspace, load_state(ran_workspace), fmt)
    assert path == ran_workspace.result_dir / f"report.{fmt}"
    text = path.read_text()
    for step in ("forward", "data", "metric", "weights", "predict"):
        assert step in text
    assert "<script" not in text.lower()
    assert "the fake model exploded" in text  # the crash's error is in the report
    if fmt == "json":
        assert json.loads(text)["steps"][0]["warnings"] == [f"child said {HOSTILE}"]  # escaped, not altered
    else:
        assert "&lt;script&gt;" in text


def test_html_is_self_contained_with_the_divergence_chart(ran_workspace):
    text = export(ran_workspace, load_state(ran_workspace), "html").read_text()
    assert "<style>" in text and "<svg" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing fetched from elsewhere
    assert text.count('fill="#d1242f"') == 2  # the marked point and its label


def test_svg_chart_marks_the_divergent_layer_on_a_log_scale():
    svg = svg_chart(LAYERS, divergent=4)
    assert svg.count('r="5"') == 1 and "first divergence: layer4" in svg
    assert "1e-7" in svg and "1e-3" in svg  # decades from the smallest to the largest difference
    assert HOSTILE not in svg and "&lt;script&gt;" in svg
    assert svg_chart([]) == ""


def test_text_chart_fits_the_box_and_rises_at_the_divergence():
    lines = text_chart(LAYERS, width=40, height=10, divergent=4)
    assert len(lines) == 10 and all(len(line) <= 40 for line in lines)
    grid = [line.split("|", 1)[1] for line in lines[:-1]]
    column_of = {col: row for row, cells in enumerate(grid) for col, ch in enumerate(cells) if ch != " "}
    assert grid[column_of[4]][4] == "X"
    assert column_of[7] == 0 and column_of[0] == len(grid) - 1  # largest at the top, smallest at the bottom
    assert "X = layer 4" in lines[-1]


def test_report_to_stdout(ran_workspace, capsys):
    assert main(["report", "--format", "json", "--output", "-", "--workspace", str(ran_workspace.root)]) == 0
    assert len(json.loads(capsys.readouterr().out)["steps"]) == len(STEPS)
