"""Behaviour of the wizard, driven with Pilot over fake workspaces (fast fake check scripts)."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from fake_checks import FakeCheck, write_fake_workspace
from rich.console import Console
from textual.widgets import OptionList, RichLog, Static

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.state import load_state
from paddle_port_tui.tui.app import PaddlePortApp
from paddle_port_tui.tui.wizard import WizardScreen, step_key
from paddle_port_tui.workspace import Workspace

SIZE = (100, 30)


def sync(test: Any) -> Any:
    """Run an async test in its own event loop (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def plain(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def wizard_app(ws: Workspace) -> PaddlePortApp:
    return PaddlePortApp(ws, devices=["cpu", "gpu:0"])


def step_list_text(app: PaddlePortApp, step_id: str) -> str:
    option_list = app.screen.query_one("#step-list", OptionList)
    return str(getattr(option_list.get_option(step_id).prompt, "plain", option_list.get_option(step_id).prompt))


async def result_text(pilot: Any, step_id: str) -> str:
    """The step's Result tab as text (shown first: a tab's pane is built when first shown)."""
    page = pilot.app.screen.page(step_id)
    page.show_tab("tab-result")
    await pilot.pause()
    return plain(page.query_one(".result", Static).content)


LAST = STEPS[-1]


async def wait_until(pilot: Any, condition: Any, timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (runs are real subprocesses: they take real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the wizard"
        await pilot.pause(0.05)


async def finish_runs(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)  # the page's redraw timer


@sync
async def test_opens_where_left_off_navigates_and_remembers(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    state = load_state(ws)
    state.current_step = "metric"
    from paddle_port_tui.state import save_state

    save_state(ws, state)
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, WizardScreen) and screen.current == "metric"
        await pilot.press("enter")
        assert screen.current == "weights"
        await pilot.press("escape", "escape")
        assert screen.current == "data"
        await pilot.press(step_key(LAST))  # "0" for step 10
        assert screen.current == LAST.id
        await pilot.press("enter")  # past the last step: the checklist
        assert type(app.screen).__name__ == "ChecklistScreen"
        await pilot.press("escape")
        assert app.screen is screen
    assert load_state(ws).current_step == LAST.id

    async with wizard_app(ws).run_test(size=SIZE) as pilot:
        assert pilot.app.screen.current == LAST.id


@sync
async def test_passing_and_failing_runs_fill_status_and_table(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": "pass", "data": "fail"})
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        assert "pending" in step_list_text(app, "forward")
        await pilot.press("r")
        await finish_runs(pilot)
        assert "✓ passed" in step_list_text(app, "forward")
        table = await result_text(pilot, "forward")
        assert "logits" in table and "features" in table and "✗" not in table
        log = app.screen.page("forward").query_one(RichLog)
        assert any("diff check passed" in line.text for line in log.lines)

        await pilot.press("2", "r")
        await finish_runs(pilot)
        assert "✗ failed" in step_list_text(app, "data")
        table = await result_text(pilot, "data")
        assert table.index("features") < table.index("logits"), "failing rows come first"
        assert app.live["data"].keys, "the live table was filled from key events"
    assert load_state(ws).steps["data"].status == "failed"


@sync
async def test_child_output_markup_is_not_interpreted(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    script = ws.script_path("forward")
    hostile = 'print("[bold red]not markup[/] \\x1b[31mred\\x1b[0m")\n'
    script.write_text(script.read_text().replace('print(f"fake check', hostile + 'print(f"fake check', 1))
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await finish_runs(pilot)
        lines = [line.text for line in app.screen.page("forward").query_one(RichLog).lines]
        assert any("[bold red]not markup[/] red" in line for line in lines), lines[:3]


@sync
async def test_cancel_kills_the_child_and_shows_cancelled(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": "sleep"})
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.state.steps["forward"].pid is not None)
        pid = app.state.steps["forward"].pid
        await wait_until(
            pilot, lambda: any("sleeping" in line.text for line in app.screen.page("forward").query_one(RichLog).lines)
        )
        assert "running" in step_list_text(app, "forward")
        await pilot.press("c")
        await finish_runs(pilot)
        assert "cancelled" in step_list_text(app, "forward")
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert load_state(ws).steps["forward"].status == "cancelled"


@sync
async def test_switching_steps_keeps_the_run_and_its_output(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": "sleep"})
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        log = app.screen.page("forward").query_one(RichLog)
        await wait_until(pilot, lambda: any("sleeping" in line.text for line in log.lines))
        await pilot.press("enter", "enter")
        assert app.screen.current == "metric"
        await pilot.press("1")
        assert app.live["forward"].running and "running" in step_list_text(app, "forward")
        assert any("sleeping" in line.text for line in log.lines)
        await pilot.press("c")
        await finish_runs(pilot)


@sync
async def test_restart_finds_the_state(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": "pass", "data": "fail"})
    async with wizard_app(ws).run_test(size=SIZE) as pilot:
        await pilot.press("r", "2", "r")
        await finish_runs(pilot)
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.screen.current == "data"
        assert "✓ passed" in step_list_text(app, "forward")
        assert "✗ failed" in step_list_text(app, "data")
        assert "features" in await result_text(pilot, "data")


@sync
async def test_generate_asks_before_overwriting_an_edit_and_keeps_a_backup(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    script = ws.script_path("forward")
    script.unlink()
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        generated = script.read_text()
        assert "paddle_port_checks" in generated
        script.write_text(generated + "# my edit\n")

        await pilot.press("g")
        assert type(app.screen).__name__ == "ConfirmOverwrite"
        diff = plain(app.screen.query_one("#confirm-diff Static", Static).content)
        assert "-# my edit" in diff
        await pilot.press("n")
        assert script.read_text().endswith("# my edit\n"), "keep mine leaves the file alone"

        await pilot.press("g", "y")
        await pilot.pause()
        assert script.read_text() == generated
        backups = list(script.parent.glob(script.name + ".bak-*"))
        assert len(backups) == 1 and backups[0].read_text().endswith("# my edit\n")


@sync
async def test_device_picker_changes_where_runs_go(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "down", "enter")
        assert app.device() == "gpu:0"
        await pilot.press("r")
        await finish_runs(pilot)
        log = app.screen.page("forward").query_one(RichLog)
        assert any("device=gpu:0" in line.text for line in log.lines)
    assert load_state(ws).device == "gpu:0"


@sync
async def test_checklist_exports_report_and_screenshot(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"data": "fail"})
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", "2", "r")
        await finish_runs(pilot)
        await pilot.press("l")
        table = plain(app.screen.query_one("#checklist-table", Static).content, width=120)
        assert "✓ passed" in table and "✗ failed" in table and "· pending" in table
        await pilot.press("x", "p")
        await pilot.pause()
    markdown = (ws.result_dir / "report.md").read_text()
    assert "forward" in markdown and "failed" in markdown
    assert "<html" in (ws.result_dir / "report.html").read_text().lower()
    assert (ws.result_dir / "checklist.svg").read_text().startswith("<svg")


@sync
async def test_config_form_validates_inline_and_writes_the_config(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    app = PaddlePortApp(Workspace(root), devices=["cpu"])
    async with app.run_test(size=SIZE) as pilot:
        form = app.screen
        form.query_one("#reference_model").value = "torchvision.models.resnet18"
        form.query_one("#paddle_model").value = "mine.paddle:resnet18"
        await pilot.pause()
        assert "[reference.model]" in str(form.query_one("#config-error", Static).content)
        await pilot.press("ctrl+s")
        assert not (root / "paddle_port.toml").exists()

        form.query_one("#reference_model").value = "mine.torch:resnet18"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, WizardScreen)
    text = (root / "paddle_port.toml").read_text()
    assert 'model = "mine.torch:resnet18"' in text and "shape = [" in text


@sync
async def test_config_form_covers_every_key_marks_the_bad_one_and_writes_them(tmp_path: Path) -> None:
    from paddle_port_checks.config import load_config
    from paddle_port_tui.init import FIELDS

    root = tmp_path / "new"
    (root / "Mini_ref").mkdir(parents=True)
    app = PaddlePortApp(Workspace(root), devices=["cpu"])
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.screen
        assert {field.name for field in FIELDS} <= {widget.id for widget in form.query("Input")}
        typed = {
            "reference_model": "torchvision.models:mini_alexnet",
            "paddle_model": "paddlevision.models:mini_alexnet",
            "reference_kwargs": "{num_classes: 10}",  # not TOML
            "reference_loader": "utilities:build_torch_data_pipeline",
            "paddle_metric_keys": "top1, top5",
            "input_shape": "",
            "inputs": "input_ids:2x16:int64:high=100, attention_mask:2x16:int64:fill=1",
            "predict_paddle": "utilities:predict_paddle",
            "pythonpath": "Mini_ref",
            "env": "CUDA_VISIBLE_DEVICES=0,1",
        }
        for name, value in typed.items():
            form.query_one(f"#{name}").value = value
        await pilot.pause()
        status = str(form.query_one("#config-error", Static).content)
        assert "[reference.kwargs]" in status and "TOML inline table" in status
        assert form.query_one("#reference_kwargs").has_class("invalid")
        assert not form.query_one("#reference_model").has_class("invalid")
        await pilot.press("ctrl+s")
        assert not (root / "paddle_port.toml").exists()

        form.query_one("#reference_kwargs").value = "num_classes = 10"
        await pilot.pause()
        assert not form.query_one("#reference_kwargs").has_class("invalid")
        assert "looks valid" in str(form.query_one("#config-error", Static).content)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, WizardScreen)
    config = load_config(root)
    assert config.reference.kwargs == {"num_classes": 10} and config.paddle.metric_keys == ("top1", "top5")
    assert [spec.name for spec in config.inputs] == ["input_ids", "attention_mask"]
    assert config.predict_paddle == "utilities:predict_paddle" and config.pythonpath == ("Mini_ref",)
    assert config.env == {"CUDA_VISIBLE_DEVICES": "0,1"} and config.reference.loader.endswith("pipeline")


@sync
async def test_config_form_proposes_what_the_repo_defines(tmp_path: Path) -> None:
    from test_init import tutorial_repo

    from paddle_port_checks.config import load_config

    root = tutorial_repo(tmp_path / "port")
    app = PaddlePortApp(Workspace(root), devices=["cpu"])
    async with app.run_test(size=SIZE) as pilot:
        form = app.screen
        await pilot.pause()
        assert "proposed from your repo" in str(form.query_one("#config-intro", Static).content)
        assert form.query_one("#reference_model").value == "torchvision.models.alexnet:alexnet"
        assert form.query_one("#paddle_loader").value == "utilities:build_paddle_data_pipeline"
        assert form.query_one("#pythonpath").value == "AlexNet_ref, AlexNet_paddle"
        assert "looks valid" in str(form.query_one("#config-error", Static).content)
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert load_config(root).pythonpath == ("AlexNet_ref", "AlexNet_paddle")


@sync
async def test_palette_runs_actions_by_name(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"open checklist")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "ChecklistScreen"


@pytest.mark.parametrize("lines", [20_000])
@sync
async def test_flood_of_output_is_capped_on_screen_and_kept_on_disk(tmp_path: Path, lines: int) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("pass", lines=lines)})
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await finish_runs(pilot)
        log = app.screen.page("forward").query_one(RichLog)
        assert len(log.lines) <= 2000
        assert "diff check passed" in log.lines[-1].text
    assert f"line {lines - 1}" in ws.log_path("forward").read_text()
    assert json.loads((ws.result_dir / "forward.json").read_text())["status"] == "passed"


@pytest.mark.e2e
@sync
async def test_end_to_end_real_demo_to_full_checklist(tmp_path: Path) -> None:
    """The real demo port, real torch and paddle: generate and run all five steps, then export."""
    from workspaces import install_demo_checkpoint

    from paddle_port_checks.catalogue import STEPS
    from paddle_port_tui.demo import write_demo

    ws = Workspace(write_demo(tmp_path / "demo"))
    install_demo_checkpoint(ws.root)
    app = PaddlePortApp(ws, devices=["cpu"])
    async with app.run_test(size=(120, 40)) as pilot:
        for step in STEPS:
            assert app.screen.current == step.id
            await pilot.press("g", "r")
            await wait_until(
                pilot, lambda step=step: step.id in app.live and not app.live[step.id].running, timeout=300
            )
            await pilot.pause(0.3)
            assert app.live[step.id].finished.status == "passed", app.live[step.id].finished
            assert "✓ passed" in step_list_text(app, step.id)
            await pilot.press("enter")
        assert type(app.screen).__name__ == "ChecklistScreen"
        table = plain(app.screen.query_one("#checklist-table", Static).content, width=160)
        assert table.count("✓ passed") == len(STEPS)
        await pilot.press("x")
        await pilot.pause()
    assert (ws.result_dir / "report.html").exists() and (ws.result_dir / "report.md").exists()


def _record_result(ws: Workspace, result: dict[str, Any]) -> None:
    """Put a finished run of `result['step']` on record, as a real run would leave it."""
    from paddle_port_tui.state import StepState, save_state

    step_id = result["step"]
    ws.result_dir.mkdir(parents=True, exist_ok=True)
    (ws.result_dir / f"{step_id}.json").write_text(json.dumps({"schema": 2, **result}))
    state = load_state(ws)
    state.steps[step_id] = StepState(status=result["status"], device="cpu", result_path=f"result/{step_id}.json")
    save_state(ws, state)


def _key(name: str, passed: bool = True) -> dict[str, Any]:
    return {
        "key": name,
        "mean": 0.0 if passed else 1.0,
        "max": 0.0,
        "min": 0.0,
        "threshold": 1e-5,
        "method": "mean",
        "passed": passed,
        "problem": None,
    }


@sync
async def test_weights_page_lists_structural_mappings_and_counts_the_named_ones(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    by_name = [{"torch": f"fc{i}.bias", "paddle": f"fc{i}.bias", "how": "name", "transposed": False} for i in range(7)]
    by_structure = [
        {"torch": "head.weight", "paddle": "classifier.0.weight", "how": "structure", "transposed": True},
        {"torch": "stem.bias", "paddle": "conv_in.bias", "how": "structure", "transposed": False},
    ]
    _record_result(
        ws,
        {
            "step": "weights",
            "status": "passed",
            "keys": [_key("logits")],
            "evidence": [],
            "warnings": [],
            "mapping": {"file": "weights_mapping.json", "rows": by_name + by_structure},
        },
    )
    app = wizard_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause(0.2)
        text = await result_text(pilot, "weights")
    assert "head.weight" in text and "classifier.0.weight" in text and "conv_in.bias" in text
    assert "fc3.bias" not in text, "rows mapped by name are counted, not listed"
    assert "7 tensors matched by name" in text
    assert "weights_mapping.json" in text and "as edited from the next run" in text
    head_row = next(line for line in text.splitlines() if "head.weight" in line)
    assert "structure" in head_row and "yes" in head_row, "the transpose is shown per row"


@sync
async def test_forward_page_shows_grouped_lint_even_when_the_check_passed(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    momentum = [
        {
            "torch_layer": f"bn{i}",
            "paddle_layer": f"bn{i}",
            "torch_type": "BatchNorm2d",
            "paddle_type": "BatchNorm2D",
            "attribute": "momentum",
            "torch_value": 0.1,
            "paddle_value": 0.1,
            "expected_paddle_value": 0.9,
            "why": "Paddle's momentum is 1 - torch's",
            "visible_in_eval": False,
        }
        for i in range(20)
    ]
    ceil = {
        "torch_layer": "pool",
        "paddle_layer": "pool",
        "torch_type": "MaxPool2d",
        "paddle_type": "MaxPool2D",
        "attribute": "ceil_mode",
        "torch_value": False,
        "paddle_value": True,
        "expected_paddle_value": False,
        "why": "changes the output size",
        "visible_in_eval": True,
    }
    _record_result(
        ws,
        {
            "step": "forward",
            "status": "passed",
            "keys": [_key("logits")],
            "evidence": [],
            "warnings": [],
            "lint": [*momentum, ceil],
        },
    )
    app = wizard_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        text = await result_text(pilot, "forward")
    assert "✓ passed" in text
    assert "Lint findings (part of the verdict): 1 finding, 1 warning" in text
    momentum_lines = [line for line in text.splitlines() if "⚠ warning  momentum" in line]
    assert len(momentum_lines) == 1 and "20 layers" in momentum_lines[0], momentum_lines
    assert "invisible in eval mode" in momentum_lines[0]
    assert any("! finding  ceil_mode" in line and "1 layer" in line for line in text.splitlines())


def test_narrow_result_table_gives_up_min_before_squeezing_the_verdict() -> None:
    from paddle_port_checks.schema import StepResult
    from paddle_port_tui.tables import diff_table
    from paddle_port_tui.tui.result_views import fit_columns

    result = StepResult.from_json({"schema": 2, "step": "forward", "status": "failed", "keys": [_key("logits", False)]})
    headers = [column.header for column in fit_columns(diff_table(result), 200).columns]
    assert headers == ["key", "mean", "max", "min", "threshold", "verdict"]
    narrow = fit_columns(diff_table(result), 50)
    assert [column.header for column in narrow.columns] == ["key", "mean", "max", "threshold", "verdict"]
    assert "✗ failed" in plain(narrow, width=50), "the verdict is never cut or wrapped"


@sync
async def test_tabs_switch_by_click_and_arrow_keys_and_build_output_when_first_shown(tmp_path: Path) -> None:
    from paddle_port_tui.tui.tab_strip import TabStrip

    ws = write_fake_workspace(tmp_path / "ws")
    app = wizard_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        page = app.screen.page("forward")
        assert not page.query(RichLog), "only the shown tab's pane is built before it is needed"
        assert app.start_run("forward")  # started without showing the Output tab: lines wait in the run
        await finish_runs(pilot)
        strip = page.query_one(TabStrip)
        await pilot.click(TabStrip, offset=(10, 0))  # " About  Output ": the padding, then column 9
        await pilot.pause()
        assert strip.active == "tab-output" and page.query_one(RichLog).display
        await pilot.pause(0.3)  # the redraw timer drains the waiting lines into the new pane
        assert any("diff check passed" in line.text for line in page.query_one(RichLog).lines)
        strip.focus()
        await pilot.press("right")
        assert strip.active == "tab-result" and "logits" in plain(page.query_one(".result", Static).content)
        await pilot.press("right", "left", "left")  # wraps round, like Textual's tabs
        assert strip.active == "tab-output"
        await pilot.press("2")  # step keys still work with the strip focused
        assert app.screen.current == "data"


@sync
async def test_footer_keys_are_clickable(tmp_path: Path) -> None:
    from paddle_port_tui.tui.footer import KeyFooter

    ws = write_fake_workspace(tmp_path / "ws")
    app = wizard_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        footer = app.screen.query_one(KeyFooter)
        await pilot.pause()
        start = next(left for left, _right, item in footer._spans if item.key == "l")
        await pilot.click(KeyFooter, offset=(start + 1, 0))
        await pilot.pause()
        assert type(app.screen).__name__ == "ChecklistScreen"
