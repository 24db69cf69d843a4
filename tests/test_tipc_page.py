"""The tipc page's Commands tab, driven with Pilot: the result's rows in a table, Enter on one opens its log."""

from __future__ import annotations

import json
from pathlib import Path

from fake_checks import write_fake_workspace
from test_tui import SIZE, plain, sync, wizard_app
from textual.widgets import DataTable, RichLog, Static

from paddle_port_tui.state import StepState, load_state, save_state

OUT = "test_tipc/output/net/lite_train_lite_infer"


def _tipc_result(root: Path) -> None:
    (root / OUT).mkdir(parents=True)
    (root / OUT / "train_gpus_0.log").write_text("".join(f"train line {i}\n" for i in range(2500)) + "loss 0.25\n")
    row = {
        "stage": "train",
        "status": "successfully",
        "seconds": 3.2,
        "entry": "0",
        "device": "",
        "batch_size": None,
        "problem": "",
        "failed": False,
    }
    commands = [
        row | {"command": "python train.py", "log": f"{OUT}/train_gpus_0.log"},
        row | {"command": "gpu_list entry 0,1: no GPU here", "status": "skipped", "log": "", "entry": "0,1"},
    ]
    details = {
        "mode": "lite_train_lite_infer",
        "model_name": "net",
        "config": "c.txt",
        "output": OUT,
        "commands": commands,
        "total_seconds": 3.2,
        "time_limit_s": 600.0,
        "prediction": None,
    }
    result = {"schema": 2, "step": "tipc", "status": "passed", "keys": [], "details": {"tipc": details}}
    (root / "result").mkdir(exist_ok=True)
    (root / "result" / "tipc.json").write_text(json.dumps(result))
    ws_state = load_state(_ws(root))
    ws_state.steps["tipc"] = StepState(status="passed", device="cpu", result_path="result/tipc.json")
    ws_state.current_step = "tipc"
    save_state(_ws(root), ws_state)


def _ws(root: Path):  # type: ignore[no-untyped-def]
    from paddle_port_tui.workspace import Workspace

    return Workspace(root)


@sync
async def test_commands_tab_lists_the_results_rows_and_enter_opens_a_log(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    _tipc_result(ws.root)
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        page = app.screen.page("tipc")
        assert not page.query(DataTable), "only the shown tab's pane is built"
        page.show_tab("tab-commands")
        await pilot.pause()
        table = page.query_one("#commands-table", DataTable)
        assert table.row_count == 2 and table.has_focus
        assert "train_gpus_0.log" in str(table.get_row_at(0)) and "skipped" in str(table.get_row_at(1))
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "LogScreen"
        log = app.screen.query_one("#log-text", RichLog)
        texts = [line.text for line in log.lines]
        assert texts[-1] == "loss 0.25" and len(texts) == 2000 and "train line 501" in texts[0]
        assert "train_gpus_0.log" in str(app.screen.query_one("#log-title", Static).content)
        await pilot.press("escape")
        assert app.screen.current == "tipc" and type(app.screen).__name__ == "WizardScreen"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert "No log for this command: it was skipped" in str(app.screen.query_one("#log-note", Static).content)
        await pilot.press("escape")
        page.show_tab("tab-result")
        await pilot.pause()
        assert "total 3.2 s of 600 s allowed" in plain(page.query_one(".result", Static).content)
