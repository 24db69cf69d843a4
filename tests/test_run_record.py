"""A run that ends without a result replaces the old record (issue 10, item 6), on fake checks: after a pass,
a segfault or an exit without a result is what the checklist, the report, `run --json` and the wizard show
(that run's status, time and reason), the pass is history ("last passed ..."), and no evidence is listed
that is not on disk.
"""

from __future__ import annotations

import json

import pytest
from fake_checks import write_fake_script, write_fake_workspace
from test_tui import plain, result_text, step_list_text, sync, wizard_app

from paddle_port_tui.checklist import checklist_row
from paddle_port_tui.cli import main
from paddle_port_tui.report import build_report, export
from paddle_port_tui.state import StepState, load_state, save_state
from paddle_port_tui.tables import checklist_table
from paddle_port_tui.workspace import Workspace

PASSING_NUMBER = "9.1e-08"  # the fake pass's decisive logits mean, as the checklist writes it
REASONS = {
    "segfault": "the check was killed by SIGSEGV without writing result/forward.json",
    "noresult": "the check exited with code 0 without writing result/forward.json",
}


def _passed_then(tmp_path, capsys, behaviour: str) -> tuple[Workspace, StepState, dict]:
    """Forward passes (its result naming one evidence file, on disk), then runs again and ends without a result;
    returns the workspace, the passing run's record and the second run's `run --json` document."""
    ws = write_fake_workspace(tmp_path)
    assert main(["run", "forward", "--workspace", str(ws.root)]) == 0
    evidence = ws.result_dir / "forward_paddle.npy"
    evidence.write_bytes(b"")
    result = json.loads(ws.result_path("forward").read_text())
    ws.result_path("forward").write_text(json.dumps({**result, "evidence": ["result/forward_paddle.npy"]}))
    passed = load_state(ws).steps["forward"]
    assert checklist_row(ws, load_state(ws), "forward").evidence == ["result/forward_paddle.npy"]
    evidence.unlink()  # what a real check does first: it clears the last run's evidence ...
    write_fake_script(ws, "forward", behaviour)  # ... and then dies before writing anything
    capsys.readouterr()
    assert main(["run", "forward", "--json", "--workspace", str(ws.root)]) == 2
    return ws, passed, json.loads(capsys.readouterr().out)["steps"][0]


@pytest.mark.parametrize("behaviour", sorted(REASONS))
def test_a_run_without_a_result_is_the_record_and_the_pass_is_history(tmp_path, capsys, behaviour):
    ws, passed, document = _passed_then(tmp_path, capsys, behaviour)
    assert (document["status"], document["keys"], document["evidence"]) == ("error", [], [])
    assert REASONS[behaviour] in document["error"]

    state = load_state(ws)
    record = state.steps["forward"]
    assert record.started_at >= passed.started_at and record.last_passed_at == passed.finished_at
    row = checklist_row(ws, state, "forward")
    assert (row.status, row.result, row.evidence) == ("error", None, [])
    assert row.decisive == f"error: {REASONS[behaviour]}"  # the reason, not the output's last line
    assert row.ran_at == record.finished_at[5:16].replace("T", " ")
    assert row.history == f"last passed {passed.finished_at[5:16].replace('T', ' ')}"
    assert "SIGSEGV" in row.shown.error if behaviour == "segfault" else "exited with code 0" in row.shown.error

    table = plain(checklist_table(ws, state), width=200)
    forward_line = next(line for line in table.splitlines() if "│ forward" in line)
    assert "! error" in forward_line and REASONS[behaviour][:40] in forward_line and row.history in forward_line
    assert PASSING_NUMBER not in table

    report = build_report(ws, state)["steps"][0]
    assert (report["status"], report["keys"], report["evidence"], report["history"]) == ("error", [], [], row.history)
    for fmt in ("md", "html", "json"):
        text = export(ws, state, fmt).read_text()
        assert REASONS[behaviour] in text and row.history in text and record.started_at in text
        assert PASSING_NUMBER not in text and "forward_paddle.npy" not in text
        assert "reference outputs" not in text  # a run without a result cannot say where its reference came from


def test_evidence_is_listed_only_where_it_is_on_disk(tmp_path):
    ws = write_fake_workspace(tmp_path)
    assert main(["run", "forward", "--workspace", str(ws.root)]) == 0
    (ws.result_dir / "forward_ref.npy").write_bytes(b"")
    result = json.loads(ws.result_path("forward").read_text())
    listed = ["result/forward_ref.npy", "result/forward_paddle.npy"]  # the second was deleted since
    ws.result_path("forward").write_text(json.dumps({**result, "evidence": listed}))
    state = load_state(ws)
    assert checklist_row(ws, state, "forward").evidence == ["result/forward_ref.npy"]
    assert checklist_row(ws, state, "forward").shown.evidence == ["result/forward_ref.npy"]  # the wizard's
    assert build_report(ws, state)["steps"][0]["evidence"] == ["result/forward_ref.npy"]


def test_a_cancelled_run_says_so_with_its_time_and_the_last_pass(tmp_path):
    ws = write_fake_workspace(tmp_path)
    state = load_state(ws)
    state.steps["forward"] = StepState(
        status="cancelled",
        started_at="2026-12-01T07:10:00Z",
        finished_at="2026-12-01T07:10:04Z",
        last_passed_at="2026-12-01T06:52:09Z",
    )
    save_state(ws, state)
    row = checklist_row(ws, load_state(ws), "forward")
    assert (row.status, row.decisive, row.ran_at) == (
        "cancelled",
        "cancelled: stopped before the check wrote a result",
        "12-01 07:10",
    )
    assert row.history == "last passed 12-01 06:52" and row.shown.error.startswith("cancelled")


def test_a_new_pass_needs_no_history_and_an_old_state_file_reads(tmp_path):
    ws = write_fake_workspace(tmp_path)
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    ws.state_path.write_text(json.dumps({"schema": 1, "steps": {"forward": {"status": "failed"}}}))  # no history
    assert load_state(ws).steps["forward"].last_passed_at is None
    assert main(["run", "forward", "--workspace", str(ws.root)]) == 0
    row = checklist_row(ws, load_state(ws), "forward")
    assert row.status == "passed" and row.history == "" and row.record.last_pass() == row.record.finished_at


@sync
async def test_the_wizard_shows_the_failed_run_not_the_pass_before_it(tmp_path, capsys) -> None:
    ws, passed, _ = _passed_then(tmp_path, capsys, "segfault")
    app = wizard_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert step_list_text(app, "forward") == " 1 forward ! error"
        text = await result_text(pilot, "forward")
    assert REASONS["segfault"] in text and "No result yet" not in text and PASSING_NUMBER not in text
    assert f"History: last passed {passed.finished_at[5:16].replace('T', ' ')}" in text
