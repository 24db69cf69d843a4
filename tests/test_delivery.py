"""Runs cannot overwrite each other (issue 11, item 2): a run's evidence is written under its run id and
delivered when it ends, the result last; an older run that ends late never replaces a newer run's files; a
check that dies without a result leaves no older verdict behind in `result/<step>.json`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fake_checks import write_fake_workspace
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks.delivery import DELIVERED, RUNS, deliver, staging_dir, step_files
from paddle_port_checks.written import MANIFEST
from paddle_port_tui.runner import run_blocking

PADDLE_KWARGS = 'model = "demo_port.paddle_model:resnet18"\nkwargs = { num_classes = 10 }'


def stage(result_dir: Path, run_id: str, verdict: str) -> list[Path]:
    """A run's forward evidence and result, written in its staging folder as a check writes them."""
    staging = staging_dir(result_dir, run_id)
    (staging / "log").mkdir(parents=True)
    files = [staging / "forward_ref.npy", staging / "forward_paddle.npy", staging / "log" / "forward_diff.log"]
    for path in files:
        path.write_text(f"{run_id} {path.name}")
    files.append(staging / "forward.json")
    files[-1].write_text(json.dumps({"status": verdict, "run": run_id}))
    return files


def test_an_older_run_ending_late_never_replaces_the_newer_runs_evidence(tmp_path: Path) -> None:
    result_dir = tmp_path / "result"
    newer, older = stage(result_dir, "newer", "failed"), stage(result_dir, "older", "passed")
    replaces = step_files(tmp_path, "forward")

    notes, delivered = deliver(result_dir, "forward", newer[0].parent, newer, "2026-12-01T10:00:05Z", replaces)
    assert (notes, delivered) == ([], True)
    notes, delivered = deliver(result_dir, "forward", older[0].parent, older, "2026-12-01T10:00:00Z", replaces)

    assert not delivered and "a newer run of forward (started 2026-12-01T10:00:05Z)" in notes[0]
    assert "result/.runs/older" in notes[0], "the note says where the late run's files are"
    assert json.loads((result_dir / "forward.json").read_text()) == {"status": "failed", "run": "newer"}
    assert (result_dir / "forward_ref.npy").read_text() == "newer forward_ref.npy"
    assert (result_dir / "log" / "forward_diff.log").read_text() == "newer forward_diff.log"
    assert all(path.is_file() for path in older), "the late run's files are kept, not lost"
    assert not newer[0].parent.exists(), "a delivered run's staging folder is gone"
    assert json.loads((result_dir / DELIVERED).read_text())["forward"]["run_id"] == "newer"


def test_a_delivery_replaces_the_last_runs_files_and_records_the_new_ones(tmp_path: Path) -> None:
    result_dir = tmp_path / "result"
    replaces = step_files(tmp_path, "forward")
    first = stage(result_dir, "first", "passed")
    deliver(result_dir, "forward", first[0].parent, first, "2026-12-01T10:00:00Z", replaces)
    errored = staging_dir(result_dir, "second")
    errored.mkdir(parents=True)
    (errored / "forward.json").write_text(json.dumps({"status": "error"}))  # an error: a result, no evidence

    deliver(result_dir, "forward", errored, [errored / "forward.json"], "2026-12-01T10:01:00Z", replaces)

    assert json.loads((result_dir / "forward.json").read_text()) == {"status": "error"}
    assert not (result_dir / "forward_ref.npy").exists(), "the last run's evidence went with its verdict"
    recorded = json.loads((result_dir / MANIFEST).read_text())["files"]
    assert "result/forward.json" in recorded and recorded["result/forward.json"]["size"] == 19


def test_a_real_check_stages_then_delivers_and_leaves_no_staging_folder(tmp_path: Path) -> None:
    workspace = copy_demo(tmp_path / "demo")
    code, result = run_step(workspace, "forward")
    assert code == 0
    first = np.load(workspace / "result" / "forward_paddle.npy", allow_pickle=True).item()["logits"]
    set_config(
        workspace, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 10", "num_classes = 10, bn_epsilon = 1e-3")
    )
    code, result = run_step(workspace, "forward")

    assert code == 1 and result["status"] == "failed"
    second = np.load(workspace / "result" / "forward_paddle.npy", allow_pickle=True).item()["logits"]
    assert not np.allclose(first, second), "the evidence is the second run's"
    assert result["evidence"] == ["result/forward_paddle.npy", "result/forward_ref.npy", "result/log/forward_diff.log"]
    assert list((workspace / "result" / RUNS).iterdir()) == []


def test_a_check_that_dies_without_a_result_leaves_no_older_verdict(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": "pass"})
    assert run_blocking(ws, "forward", "cpu").status == "passed"
    assert json.loads(ws.result_path("forward").read_text())["status"] == "passed"
    write_fake_workspace(tmp_path / "ws", {"forward": "crash"})

    finished = run_blocking(ws, "forward", "cpu")

    assert finished.status == "error"
    written = json.loads(ws.result_path("forward").read_text())
    assert written["status"] == "error" and "without writing result/forward.json" in written["error"]


def test_a_folder_where_evidence_belongs_stops_the_delivery_before_the_last_runs_files_go(tmp_path: Path) -> None:
    from paddle_port_checks.atomic import WriteError
    from paddle_port_checks.delivery import deliver_run
    from paddle_port_checks.schema import StepResult

    result_dir = tmp_path / "result"
    first = stage(result_dir, "first", "passed")
    deliver(result_dir, "forward", first[0].parent, first, "2026-12-01T10:00:00Z", step_files(tmp_path, "forward"))
    (result_dir / "log" / "forward_diff.log").unlink()
    (result_dir / "log" / "forward_diff.log").mkdir()  # something made a folder of it
    second = stage(result_dir, "second", "failed")[:-1]  # the result is written by deliver_run itself

    try:
        deliver_run(
            result_dir, StepResult(step="forward", status="failed", started_at="2026-12-01T10:01:00Z"), second, "second"
        )
    except WriteError as error:
        assert "result/log/forward_diff.log" in str(error) and ".runs" not in str(error), error
    else:
        raise AssertionError("the delivery went on over a folder")
    assert json.loads((result_dir / "forward.json").read_text()) == {"status": "passed", "run": "first"}
    assert (result_dir / "forward_ref.npy").read_text() == "first forward_ref.npy", "the last run's files stayed"
