"""Lint findings are part of the verdict (issue 10, item 3): one real forward run of the BatchNorm-momentum twin
(real torch and paddle), whose result every face then reads: run --json, the CLI, the checklist, the three
report formats and the wizard. The momentum copied from torch is invisible in eval mode, so the step passes,
and every face must say "passed · 1 warning" with the exact fix and the line that builds the layer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from test_tui import plain, result_text, step_list_text, sync, wizard_app
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks.schema import read_result
from paddle_port_checks.steps import forward
from paddle_port_tui.checklist import checklist_row
from paddle_port_tui.flow import exit_code
from paddle_port_tui.report import export
from paddle_port_tui.run_output import show_step, step_document
from paddle_port_tui.runner import Finished
from paddle_port_tui.state import StepState, load_state, save_state
from paddle_port_tui.tables import checklist_table
from paddle_port_tui.workspace import Workspace, as_step, file_hash

PADDLE_KWARGS = 'model = "demo_port.paddle_model:resnet18"\nkwargs = { num_classes = 10 }'
FIX = "paddle.nn.BatchNorm2D(momentum=0.9)"


def _line_of(root: Path, text: str) -> str:
    """`demo_port/paddle_model.py:N` of the first line holding `text`."""
    lines = (root / "demo_port" / "paddle_model.py").read_text().splitlines()
    return f"demo_port/paddle_model.py:{next(n for n, line in enumerate(lines, 1) if text in line)}"


@pytest.fixture(scope="module")
def bn_twin(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo with Paddle BatchNorm momentum 0.1 (torch's value copied), forward run once, on record."""
    root = copy_demo(tmp_path_factory.mktemp("bn-twin"))
    set_config(root, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 10", "num_classes = 10, bn_momentum = 0.1"))
    code, _ = run_step(root, "forward", after_compare=forward.explain)
    assert code == 0
    ws = Workspace(root)
    state = load_state(ws)
    state.steps["forward"] = StepState(
        status="passed",
        started_at="2026-12-01T06:52:00Z",
        finished_at="2026-12-01T06:52:09Z",
        device="cpu",
        exit_code=0,
        result_path="result/forward.json",
        script_hash=file_hash(ws.script_path("forward")),
        config_hash=ws.config_hash(),
    )
    save_state(ws, state)
    return ws


def _finished(ws: Workspace) -> Finished:
    return Finished("forward", "passed", 0, read_result(ws.result_path("forward")), None)


def test_the_momentum_twin_passes_with_one_warning_naming_the_fix_and_the_lines(bn_twin: Workspace) -> None:
    result = read_result(bn_twin.result_path("forward"))
    assert result.status == "passed"
    momentum = {finding.paddle_layer: finding for finding in result.lint if finding.attribute == "momentum"}
    assert len(momentum) == 20
    assert {(finding.severity, finding.fix) for finding in momentum.values()} == {("warning", FIX)}
    root = bn_twin.root
    assert momentum["bn1"].defined_at == _line_of(root, "self.bn1 = nn.BatchNorm2D(64")
    assert momentum["layer1.0.bn1"].defined_at == _line_of(root, "self.bn1 = nn.BatchNorm2D(channels")
    assert momentum["layer3.1.bn2"].defined_at == _line_of(root, "self.bn2 = nn.BatchNorm2D(channels")
    assert momentum["layer2.0.downsample.1"].defined_at == _line_of(root, "    nn.BatchNorm2D(channels")


def test_run_json_lists_the_finding_and_the_exit_code_stays_0(bn_twin: Workspace) -> None:
    document = step_document(bn_twin, as_step("forward"), _finished(bn_twin))
    assert document["status"] == "passed" and exit_code([document["status"]]) == 0
    (finding,) = document["findings"]
    assert (finding["rule"], finding["severity"], finding["fix"]) == ("momentum", "warning", FIX)
    assert (finding["torch_value"], finding["paddle_value"], finding["expected_paddle_value"]) == (0.1, 0.1, 0.9)
    assert len(finding["layers"]) == 20 and "layer1.0.bn1" in finding["layers"]
    assert _line_of(bn_twin.root, "self.bn1 = nn.BatchNorm2D(channels") in finding["defined_at"]
    assert "training-mode checks" in finding["why"]
    json.dumps(document)  # plain JSON


def test_the_cli_prints_the_finding_under_the_table_and_the_checklist_counts_it(bn_twin: Workspace) -> None:
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    show_step(bn_twin, as_step("forward"), _finished(bn_twin), console)
    console.print(checklist_table(bn_twin, load_state(bn_twin)))
    text = console.export_text()
    assert "⚠ warning  momentum: paddle 0.1, expected 0.9 (torch 0.1), invisible in eval mode, in 20 layers" in text
    assert f"fix: {FIX} at demo_port/paddle_model.py:" in text
    forward_row = next(line for line in text.splitlines() if "│ forward" in line)
    assert "✓ passed · 1 warning" in forward_row
    assert checklist_row(bn_twin, load_state(bn_twin), "forward").label == "passed · 1 warning"


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_every_report_format_carries_the_finding_in_the_verdict(bn_twin: Workspace, fmt: str) -> None:
    text = export(bn_twin, load_state(bn_twin), fmt, bn_twin.root / f"findings.{fmt}").read_text()
    line = _line_of(bn_twin.root, "self.bn1 = nn.BatchNorm2D(64")
    if fmt == "json":
        report = json.loads(text)
        forward_step = report["steps"][0]
        assert forward_step["label"] == "passed · 1 warning" and report["findings_count"] == "1 warning"
        assert forward_step["findings"][0]["fix"] == FIX and line in forward_step["findings"][0]["defined_at"]
        return
    assert "passed · 1 warning" in text.replace('</span> <span class="warning">', "")
    assert FIX in text and line in text and "invisible in eval mode" in text
    if fmt == "md":
        assert "| 1 | forward | ✓ passed · 1 warning |" in text
        assert "**Lint findings (part of the verdict): 1 warning**" in text


@sync
async def test_the_wizard_shows_the_warning_in_the_step_list_title_result_and_checklist(bn_twin: Workspace) -> None:
    from textual.widgets import Static

    app = wizard_app(bn_twin)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert step_list_text(app, "forward") == " 1 forward ✓ passed\n  ⚠ 1 warning"
        assert "1✓⚠ forward" in plain(app.screen.query_one("#step-strip", Static).content)  # the narrow strip
        title = plain(app.screen.page("forward").query_one(".step-title", Static).content)
        assert "✓ passed · 1 warning" in title
        result = await result_text(pilot, "forward")
        assert "Lint findings (part of the verdict): 1 warning" in result and f"fix: {FIX}" in result
        await pilot.press("l")
        await pilot.pause(0.2)
        findings = plain(app.screen.query_one("#checklist-findings", Static).content, width=120)
    assert "1 forward: lint findings" in findings and "⚠ warning  momentum" in findings
