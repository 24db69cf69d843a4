"""Snapshots of every wizard screen at 80x24 and 120x40, from canned workspaces (no runs, no clocks).

The workspace folder is always `my-port` and every path on screen is relative, so the pictures do not
depend on the machine or the temporary folder. Update with `pytest --snapshot-update` after a review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paddle_port_tui import generate
from paddle_port_tui.state import StepState, load_state, save_state
from paddle_port_tui.tui.app import PaddlePortApp
from paddle_port_tui.workspace import Workspace, file_hash

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
CONFIG = """\
[reference]
model = "my_models.torch_net:build"

[paddle]
model = "my_models.paddle_net:build"

[input]
shape = [1, 3, 32, 32]
"""


def _key(name: str, mean: float, passed: bool, threshold: float = 1e-5) -> dict[str, Any]:
    return {
        "key": name,
        "mean": mean,
        "max": mean * 3,
        "min": 0.0,
        "threshold": threshold,
        "method": "mean",
        "passed": passed,
        "problem": None,
    }


FORWARD_FAILED = {
    "schema": 1,
    "step": "forward",
    "status": "failed",
    "keys": [_key("logits", 2.6e-2, False)],
    "evidence": ["result/forward_paddle.npy", "result/forward_ref.npy", "result/log/forward_diff.log"],
    "warnings": ["BatchNorm momentum differs: invisible in eval mode, ruins training"],
    "first_divergence": {
        "reference_layer": "features.3",
        "paddle_layer": "features.3",
        "reference_type": "MaxPool2d",
        "paddle_type": "MaxPool2D",
        "index": 4,
        "mean": 0.31,
        "max": 2.1,
        "rel": 0.4,
        "verdict": "layer",
        "lint": [
            {
                "paddle_layer": "features.3",
                "paddle_type": "MaxPool2D",
                "torch_type": "MaxPool2d",
                "attribute": "ceil_mode",
                "paddle_value": True,
                "expected_paddle_value": False,
                "torch_layer": "features.3",
                "torch_value": False,
                "why": "ceil_mode changes the output size",
            }
        ],
        "layers": [
            {
                "index": i,
                "reference": f"features.{i}",
                "paddle": f"features.{i}",
                "type": "Conv2D",
                "mean": value,
                "rel": value,
            }
            for i, value in enumerate([1e-8, 2e-8, 1e-8, 3e-8, 0.31, 0.2, 0.4])
        ],
    },
}
DATA_PASSED = {
    "schema": 1,
    "step": "data",
    "status": "passed",
    "keys": [_key("length", 0.0, True, 1e-6), _key("dataloader_0", 0.0, True, 1e-6), _key("label_0", 0.0, True, 1e-6)],
    "evidence": ["result/data_paddle.npy", "result/data_ref.npy", "result/log/data_diff.log"],
    "warnings": [],
}


def canned_workspace(root: Path) -> Workspace:
    """A workspace with scripts generated, a failed forward run and a passed data run on record."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "paddle_port.toml").write_text(CONFIG)
    ws = Workspace(root)
    state = load_state(ws)
    for step_id in ("forward", "data", "metric", "weights", "predict"):
        generate.write(ws, state, step_id)
    (root / "result").mkdir(exist_ok=True)
    for result, seconds in ((FORWARD_FAILED, 4.2), (DATA_PASSED, 1.5)):
        step_id = result["step"]
        (root / "result" / f"{step_id}.json").write_text(json.dumps(result))
        for evidence in result["evidence"]:  # evidence is listed only where it is on disk
            (root / evidence).parent.mkdir(parents=True, exist_ok=True)
            (root / evidence).write_bytes(b"")
        state.steps[step_id] = StepState(
            status=result["status"],
            started_at="2026-01-01T10:00:00Z",
            finished_at="2026-01-01T10:00:05Z",
            duration_s=seconds,
            device="cpu",
            exit_code=0 if result["status"] == "passed" else 1,
            log_path=f".paddle_port/logs/{step_id}.log",
            result_path=f"result/{step_id}.json",
            script_hash=file_hash(ws.script_path(step_id)),
            config_hash=ws.config_hash(),
        )
    save_state(ws, state)
    return ws


@pytest.fixture
def canned(tmp_path: Path) -> Workspace:
    return canned_workspace(tmp_path / "my-port")


def wizard(ws: Workspace) -> PaddlePortApp:
    return PaddlePortApp(ws, devices=["cpu", "gpu:0", "gpu:1"])


@pytest.mark.parametrize("size", SIZES)
def test_config_form(snap_compare, tmp_path: Path, size: str) -> None:
    """No config yet: the form, with an inline error for a malformed model factory."""
    root = tmp_path / "my-port"
    root.mkdir()

    async def type_bad_factory(pilot) -> None:
        pilot.app.screen.query_one("#reference_model").value = "torchvision.models.resnet18"
        await pilot.pause()

    assert snap_compare(wizard(Workspace(root)), terminal_size=SIZES[size], run_before=type_bad_factory)


@pytest.mark.parametrize("size", SIZES)
def test_step_page_about(snap_compare, canned: Workspace, size: str) -> None:
    """The first step's page; the step list is shown when wide and folded away at 80 columns."""
    assert snap_compare(wizard(canned), terminal_size=SIZES[size])


@pytest.mark.parametrize("size", SIZES)
def test_step_list_toggled(snap_compare, canned: Workspace, size: str) -> None:
    """`s` at 80 columns unfolds the step list with glyph + word for each status (stale included)."""
    (canned.root / "test_tipc" / "02_test_data.py").write_text("# edited by the porter\n")
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["s"])


@pytest.mark.parametrize("size", SIZES)
def test_failed_forward_result(snap_compare, canned: Workspace, size: str) -> None:
    """The forward result: failing table, warnings, first divergence, lint, per-layer chart."""

    async def open_result(pilot) -> None:
        pilot.app.screen.page("forward").show_tab("tab-result")
        await pilot.pause()

    assert snap_compare(wizard(canned), terminal_size=SIZES[size], run_before=open_result)


@pytest.mark.parametrize("size", SIZES)
def test_passed_data_result(snap_compare, canned: Workspace, size: str) -> None:
    async def open_result(pilot) -> None:
        await pilot.press("2")
        pilot.app.screen.page("data").show_tab("tab-result")
        await pilot.pause()

    assert snap_compare(wizard(canned), terminal_size=SIZES[size], run_before=open_result)


@pytest.mark.parametrize("size", SIZES)
def test_checklist(snap_compare, canned: Workspace, size: str) -> None:
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["l"])


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, canned: Workspace, size: str) -> None:
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["f1"])


@pytest.mark.parametrize("size", SIZES)
def test_device_picker(snap_compare, canned: Workspace, size: str) -> None:
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["d"])


@pytest.mark.parametrize("size", SIZES)
def test_confirm_overwrite_of_edited_script(snap_compare, canned: Workspace, size: str) -> None:
    """g on a script the porter edited shows the diff and asks."""
    script = canned.root / "test_tipc" / "01_test_forward.py"
    script.write_text(script.read_text().replace("import", "import  # porter's note\nimport", 1))
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["g"])


@pytest.mark.parametrize("size", SIZES)
def test_command_palette(snap_compare, canned: Workspace, size: str) -> None:
    assert snap_compare(wizard(canned), terminal_size=SIZES[size], press=["ctrl+p", *"run"])
