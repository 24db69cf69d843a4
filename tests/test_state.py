"""Workspace state: survives reloads, a corrupt file is moved aside, abandoned runs are settled."""

from __future__ import annotations

import json
import subprocess
import sys

from fake_checks import write_fake_workspace

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.state import (
    State,
    StepState,
    display_status,
    interrupted_reason,
    load_state,
    save_state,
    utc_now,
)
from paddle_port_tui.workspace import Workspace


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_no_file_means_every_step_pending(tmp_path):
    state = load_state(Workspace(tmp_path))
    assert [step_id for step_id in state.steps] == [step.id for step in STEPS]
    assert {step_state.status for step_state in state.steps.values()} == {"pending"}
    assert state.warnings == []


def test_state_survives_a_reload(tmp_path):
    ws = Workspace(tmp_path)
    state = State(current_step="metric", device="gpu:1", generated={"test_tipc/01_test_forward.py": "ab" * 32})
    state.steps["forward"] = StepState(
        status="failed",
        started_at="2026-01-01T00:00:00Z",
        exit_code=1,
        duration_s=4.2,
        device="cpu",
        error="logits mean 0.03 > 1e-05",
    )
    save_state(ws, state)
    # no temporary left behind (state.lock is the lock that serialises writers, kept on purpose)
    assert sorted(path.name for path in ws.state_dir.iterdir()) == ["state.json", "state.lock"]
    again = load_state(Workspace(tmp_path))
    assert again.steps == state.steps and again.generated == state.generated
    assert (again.current_step, again.device) == ("metric", "gpu:1")


def test_a_corrupt_file_is_moved_aside_and_named(tmp_path):
    ws = Workspace(tmp_path)
    ws.state_dir.mkdir()
    for n, text in enumerate(
        ['{"steps": {"forward": {"status": "ru', '{"steps": {"forward": {"status": "weird"}}}'], start=1
    ):
        ws.state_path.write_text(text)
        state = load_state(ws)
        assert state.steps["forward"].status == "pending"
        aside = ws.state_dir / f"state.json.corrupt-{n}"
        assert aside.read_text() == text  # the porter's file is kept, not lost
        assert not ws.state_path.exists()
        assert len(state.warnings) == 1 and f"state.json.corrupt-{n}" in state.warnings[0]


def test_an_abandoned_run_adopts_the_result_its_check_wrote_later(tmp_path):
    ws = write_fake_workspace(tmp_path)
    state = State()
    state.steps["forward"] = StepState(status="running", started_at="2020-01-01T00:00:00Z", pid=_dead_pid())
    dead = _dead_pid()
    state.steps["data"] = StepState(status="running", started_at=utc_now(), pid=dead)
    save_state(ws, state)
    ws.result_dir.mkdir()
    ws.result_path("forward").write_text(json.dumps({"step": "forward", "status": "failed", "error": None}))
    settled = load_state(ws)
    assert settled.steps["forward"].status == "failed"
    assert settled.steps["forward"].result_path == "result/forward.json"
    assert (settled.steps["data"].status, settled.steps["data"].error) == ("error", interrupted_reason(dead))
    assert f"the check's process (pid {dead}) ended without writing a result" == settled.steps["data"].error


def test_a_run_whose_process_still_lives_stays_running(tmp_path):
    ws = Workspace(tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        state = State()
        state.steps["metric"] = StepState(status="running", started_at=utc_now(), pid=sleeper.pid)
        save_state(ws, state)
        assert load_state(ws).steps["metric"].status == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert load_state(ws).steps["metric"].status == "error"


def test_only_completed_runs_go_stale(tmp_path):
    ws = write_fake_workspace(tmp_path)
    state = State()
    for status in ("passed", "cancelled"):
        state.steps["forward"] = StepState(status=status, script_hash="old", config_hash="old")
        assert display_status(ws, state, "forward") == ("stale" if status == "passed" else status)
    assert display_status(ws, state, "not-a-step") == "pending"


def test_two_processes_saving_keep_each_others_runs(tmp_path) -> None:
    """The wizard and `paddle-port run` in another window: neither erases the other's step."""
    ws = Workspace(tmp_path)
    wizard, cli = load_state(ws), load_state(ws)
    wizard.steps["forward"] = StepState(status="passed", started_at="2026-11-28T01:00:00Z")
    save_state(ws, wizard)
    cli.steps["data"] = StepState(status="failed", started_at="2026-11-28T01:00:05Z")
    save_state(ws, cli)
    merged = load_state(ws)
    assert merged.steps["forward"].status == "passed" and merged.steps["data"].status == "failed"
    # An older copy saved later does not roll a newer run back.
    wizard.steps["forward"] = StepState(status="failed", started_at="2026-11-28T00:59:00Z")
    save_state(ws, wizard)
    assert load_state(ws).steps["forward"].status == "passed" and wizard.steps["data"].status == "failed"
