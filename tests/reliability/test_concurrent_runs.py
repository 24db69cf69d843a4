"""Two runs of one step: the second waits for the first (saying whose run it waits for) or, with
`--no-wait`, is refused with exit 2; the step's lock outlives the app in its run host and check worker and
dies with the last of them; a step left `running` by dead processes reads as an error, naming it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import psutil
from fake_checks import FakeCheck, write_fake_workspace

from paddle_port_tui.run_lock import holder, lock_path
from paddle_port_tui.state import interrupted_reason, load_state
from paddle_port_tui.workspace import Workspace

CLI = [sys.executable, "-m", "paddle_port_tui"]
GATED = {"forward": FakeCheck("gated")}


def cli(ws: Workspace, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *argv], cwd=ws.root, capture_output=True, text=True, timeout=60)


def start_cli(ws: Workspace, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *argv], cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )


def read_until(stream: IO[str] | None, text: str, timeout: float = 30) -> str:
    """Lines of a child's stream up to the first that holds `text` (the test's clock, not a sleep)."""
    assert stream is not None
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = stream.readline()
        seen.append(line)
        if text in line:
            return line
        if not line:
            break
    raise AssertionError(f"{text!r} never came; got {''.join(seen)!r}")


def lock_holder(ws: Workspace) -> dict[str, Any]:
    found = holder(ws, "forward")
    assert found is not None, "forward's lock file holds no holder"
    return found


def wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} still runs")


def test_a_second_run_is_refused_with_no_wait_or_waits_and_each_run_keeps_its_own_records(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", GATED)
    first = start_cli(ws, "run", "forward")
    try:
        read_until(first.stdout, "waiting for gate")
        first_run_id = lock_holder(ws)["run_id"]

        refused = cli(ws, "run", "forward", "--no-wait")
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1, refused.stderr
        first_host = lock_holder(ws)["pid"]
        assert first_host != first.pid, "the run is hosted by a detached process, not by the app"
        assert f"another paddle-port run (pid {first_host}, check pid " in refused.stderr
        assert "steps forward) is running forward" in refused.stderr

        second = start_cli(ws, "run", "forward")
        waiting = read_until(second.stderr, "waiting…")
        assert f"(pid {first_host}," in waiting
        time.sleep(0.5)
        assert second.poll() is None and lock_holder(ws)["run_id"] == first_run_id, "the second did not wait"
        (ws.root / "gate").touch()
        assert first.wait(timeout=30) == 0
        assert second.wait(timeout=30) == 0, second.stderr.read() if second.stderr else ""
    finally:
        for process in (first, locals().get("second")):
            if isinstance(process, subprocess.Popen) and process.poll() is None:
                process.kill()
                process.wait()
    holder = lock_holder(ws)
    record = load_state(ws).steps["forward"]
    assert holder["run_id"] != first_run_id
    assert (record.status, record.run_id, record.pid, record.host_pid) == ("passed", holder["run_id"], None, None)
    log = ws.log_path("forward").read_text(encoding="utf-8")
    assert log.count("fake check forward") == 1, "the log holds one run's output"
    assert (
        ws.result_path("forward").stat().st_mtime
        >= time.mktime(time.strptime(record.started_at or "", "%Y-%m-%dT%H:%M:%SZ")) - time.timezone - 2
    ), "the result is the second run's"


def test_a_run_whose_app_is_killed_finishes_and_records_its_verdict(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", GATED)
    app = start_cli(ws, "run", "forward")
    read_until(app.stdout, "waiting for gate")
    app.kill()  # kill -9: the app gets no say; its run host and check live on in their own sessions
    app.wait()
    record = load_state(ws).steps["forward"]
    assert record.status == "running" and record.pid is not None and record.host_pid is not None
    refused = cli(ws, "run", "forward", "--no-wait")
    assert refused.returncode == 2 and f"check pid {record.pid}" in refused.stderr, refused.stderr

    (ws.root / "gate").touch()
    wait_gone(record.host_pid)
    finished = load_state(ws).steps["forward"]
    assert (finished.status, finished.run_id, finished.pid) == ("passed", record.run_id, None)
    assert ws.result_path("forward").is_file() and "fake check forward" in ws.log_path("forward").read_text()


def test_a_run_whose_processes_all_died_reads_as_an_error_and_frees_the_step(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", GATED)
    app = start_cli(ws, "run", "forward")
    read_until(app.stdout, "waiting for gate")
    record = load_state(ws).steps["forward"]
    assert record.pid is not None and record.host_pid is not None
    for pid in (app.pid, record.host_pid, record.pid):
        os.kill(pid, signal.SIGKILL)
    app.wait()
    wait_gone(record.host_pid)
    wait_gone(record.pid)

    settled = load_state(ws).steps["forward"]
    assert (settled.status, settled.error) == ("error", interrupted_reason(record.pid))
    report = cli(ws, "report", "--format", "json")
    written = Path(report.stdout.strip()).read_text(encoding="utf-8")
    assert report.returncode == 0 and f"pid {record.pid}" in written, report.stderr

    (ws.root / "gate").touch()
    again = cli(ws, "run", "forward", "--no-wait")  # the kernel let go of the lock with its last holder
    assert again.returncode == 0, again.stderr
    assert load_state(ws).steps["forward"].status == "passed"


def test_a_lock_file_left_by_a_dead_holder_does_not_block_a_run(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"pid": dead.pid, "run_id": "0" * 32, "started_at": "2026-01-01T00:00:00Z", "steps": ["forward"]}
    lock_path(ws, "forward").parent.mkdir(parents=True)
    lock_path(ws, "forward").write_text(json.dumps(stale), encoding="utf-8")
    run = cli(ws, "run", "forward", "--no-wait")
    assert run.returncode == 0, run.stderr
    assert lock_holder(ws)["run_id"] != stale["run_id"], "the new run took the lock and wrote itself in"
