"""The runner against fake check scripts: statuses, events, the full log, cancel of the whole tree.

Both drivers are held to the same guarantees: the async `CheckRun` (the wizard) and the blocking one
behind `run_blocking` (the CLI).
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import subprocess
import sys
import time

import psutil
import pytest
from fake_checks import FakeCheck, write_fake_workspace

from paddle_port_tui import runner
from paddle_port_tui.results import decisive, load_result, sorted_keys
from paddle_port_tui.runner import CheckEvent, CheckRun, Finished, OutputLine, run_blocking
from paddle_port_tui.state import display_status, load_state
from paddle_port_tui.workspace import Workspace


def _collect(run: CheckRun, until=None) -> list:
    """All messages of a run; `until(run, message)` is called on each (to cancel mid-run)."""

    async def consume() -> list:
        messages = []
        async for message in run.stream():
            messages.append(message)
            if until is not None:
                until(run, message)
        return messages

    return asyncio.run(asyncio.wait_for(consume(), timeout=60))


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting for whatever re-parented it: either way it runs no more."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(("behaviour", "status", "exit_code"), [
    ("pass", "passed", 0), ("fail", "failed", 1), ("error", "error", 2),
])
def test_status_and_exit_code_follow_the_result(tmp_path, behaviour, status, exit_code):
    ws = write_fake_workspace(tmp_path, {"forward": behaviour})
    finished = run_blocking(ws, "forward", "cpu")
    assert (finished.status, finished.exit_code) == (status, exit_code)
    assert finished.result is not None and finished.result["status"] == status
    saved = load_state(Workspace(tmp_path)).steps["forward"]
    assert (saved.status, saved.exit_code, saved.device) == (status, exit_code, "cpu")
    assert saved.result_path == "result/forward.json" and saved.pid is None
    assert saved.finished_at is not None and saved.duration_s is not None


def test_crash_is_an_error_with_the_traceback_tail(tmp_path):
    ws = write_fake_workspace(tmp_path, {"data": "crash"})
    finished = run_blocking(ws, "data", "cpu")
    assert finished.status == "error" and finished.exit_code == 1 and finished.result is None
    assert "without writing result/data.json" in finished.error
    assert "RuntimeError: the fake model exploded" in finished.error
    assert "Traceback" in finished.error
    assert load_state(ws).steps["data"].error == finished.error


def test_exit_zero_without_a_result_is_an_error(tmp_path):
    ws = write_fake_workspace(tmp_path, {"metric": "noresult"})
    assert run_blocking(ws, "metric", "cpu").status == "error"


def test_a_result_left_by_an_earlier_run_is_not_trusted(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "pass"})
    assert run_blocking(ws, "forward", "cpu").status == "passed"
    ws.script_path("forward").write_text("raise SystemExit(0)\n")
    finished = run_blocking(ws, "forward", "cpu")
    assert finished.status == "error" and finished.result is None


def test_events_arrive_in_order_and_lines_carry_arguments(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "fail"})
    messages = _collect(CheckRun(ws, "forward", "gpu:1", fresh=True))
    events = [message.data for message in messages if isinstance(message, CheckEvent)]
    assert [event["event"] for event in events] == ["start", "stage", "key", "key", "result"]
    assert events[0]["device"] == "gpu:1"
    assert [event["diff"]["key"] for event in events if event["event"] == "key"] == ["logits", "features"]
    lines = [message.text for message in messages if isinstance(message, OutputLine)]
    assert lines[0] == "fake check forward device=gpu:1 fresh=True"
    assert lines[-1] == "diff check failed"
    assert isinstance(messages[-1], Finished) and messages[-1].status == "failed"


def test_child_has_no_terminal_and_unbuffered_colour_env(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    ws = write_fake_workspace(tmp_path)
    ws.script_path("forward").write_text(
        "import os, sys\n"
        "print(sys.stdin.read() == '', os.getsid(0) == os.getpid(), os.environ['PYTHONUNBUFFERED'],\n"
        "      os.environ.get('FORCE_COLOR'), os.getcwd())\n"
    )
    lines: list[str] = []
    run_blocking(ws, "forward", "cpu", on_line=lines.append)
    assert lines == [f"True True 1 1 {ws.root}"]
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    lines.clear()
    run_blocking(ws, "forward", "cpu", on_line=lines.append)
    assert lines == [f"True True 1 None {ws.root}"]


def test_full_log_of_100k_lines_reaches_disk_without_stalling(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": FakeCheck("pass", lines=100_000)})
    seen = 0

    def count(_line: str) -> None:
        nonlocal seen
        seen += 1

    started = time.monotonic()
    finished = run_blocking(ws, "forward", "cpu", on_line=count)
    elapsed = time.monotonic() - started
    assert finished.status == "passed"
    logged = ws.log_path("forward").read_text().splitlines()
    numbered = [line for line in logged if line.startswith("line ")]
    assert numbered == [f"line {n}" for n in range(100_000)]
    assert logged[-1] == "diff check passed"
    assert seen >= 100_000
    assert elapsed < 20, f"100,000 lines took {elapsed:.1f} s"


def test_a_slow_consumer_gets_a_drop_notice_but_the_log_is_complete(tmp_path, monkeypatch):
    monkeypatch.setattr("paddle_port_tui.runner.MAX_PENDING_LINES", 10)
    ws = write_fake_workspace(tmp_path, {"forward": FakeCheck("pass", lines=5_000)})
    run = CheckRun(ws, "forward", "cpu")

    def slow(_run, message) -> None:
        time.sleep(0.0005)  # blocks the loop, as a sluggish UI would

    lines = [message.text for message in _collect(run, slow) if isinstance(message, OutputLine)]
    assert run.dropped_lines > 0
    assert any("lines not shown live" in line for line in lines)
    assert len([line for line in ws.log_path("forward").read_text().splitlines() if line.startswith("line ")]) == 5_000


def test_cancel_kills_the_child_and_its_grandchild(tmp_path):
    ws = write_fake_workspace(tmp_path, {"weights": "grandchild"})
    run = CheckRun(ws, "weights", "cpu")
    pids: dict[str, int] = {}

    def cancel_when_sleeping(run: CheckRun, message) -> None:
        if isinstance(message, OutputLine) and message.text.startswith("grandchild "):
            pids["grandchild"] = int(message.text.split()[1])
        if isinstance(message, OutputLine) and message.text == "sleeping":
            pids["child"] = run._process.pid
            assert not _dead(pids["grandchild"]) and not _dead(pids["child"])  # both alive before cancel
            assert psutil.Process(pids["grandchild"]).ppid() == pids["child"]
            assert load_state(ws).steps["weights"].status == "running"
            run.cancel()

    started = time.monotonic()
    messages = _collect(run, cancel_when_sleeping)
    assert time.monotonic() - started < 10
    assert isinstance(messages[-1], Finished) and messages[-1].status == "cancelled"
    deadline = time.monotonic() + 5
    while not (_dead(pids["child"]) and _dead(pids["grandchild"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pids["child"]), "the check survived cancel"
    assert _dead(pids["grandchild"]), "the grandchild in its own session survived cancel"
    assert load_state(ws).steps["weights"].status == "cancelled"


def test_a_check_that_leaves_a_grandchild_behind_still_finishes_and_leaves_no_orphan(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "orphan"})
    lines: list[str] = []
    started = time.monotonic()
    finished = run_blocking(ws, "forward", "cpu", on_line=lines.append)
    assert finished.status == "passed"
    assert time.monotonic() - started < 10
    grandchild = next(int(line.split()[1]) for line in lines if line.startswith("grandchild "))
    deadline = time.monotonic() + 5
    while not _dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(grandchild)


def test_closing_the_stream_mid_run_leaves_no_orphan(tmp_path):
    ws = write_fake_workspace(tmp_path, {"predict": "sleep"})
    run = CheckRun(ws, "predict", "cpu")

    async def leave_early() -> int:
        stream = run.stream()
        async for message in stream:
            if isinstance(message, OutputLine) and message.text == "sleeping":
                break
        await stream.aclose()
        return run._process.pid

    pid = asyncio.run(leave_early())
    deadline = time.monotonic() + 5
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pid)
    assert load_state(ws).steps["predict"].status == "cancelled"


def test_ctrl_c_in_the_cli_cancels_the_run(tmp_path):
    ws = write_fake_workspace(tmp_path, {"predict": "sleep"})
    cli = subprocess.Popen(
        [sys.executable, "-c", "import sys; from paddle_port_tui.runner import run_blocking; "
         "from paddle_port_tui.workspace import Workspace; "
         "run_blocking(Workspace(sys.argv[1]), 'predict', 'cpu', on_line=lambda line: print(line, flush=True))",
         str(ws.root)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        while cli.stdout.readline().strip() != "sleeping":
            pass
        child = load_state(ws).steps["predict"].pid
        assert child is not None and not _dead(child)
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=10) != 0
    finally:
        cli.kill()
    assert _dead(child)
    assert load_state(ws).steps["predict"].status == "cancelled"


def test_missing_script_is_an_error_without_a_process(tmp_path):
    ws = write_fake_workspace(tmp_path)
    ws.script_path("metric").unlink()
    finished = run_blocking(ws, "metric", "cpu")
    assert finished.status == "error" and "paddle-port generate metric" in finished.error
    assert load_state(ws).steps["metric"].status == "error"


def test_stale_when_the_script_or_config_changes_after_a_run(tmp_path):
    ws = write_fake_workspace(tmp_path)
    run_blocking(ws, "forward", "cpu")
    assert display_status(ws, load_state(ws), "forward") == "passed"
    ws.script_path("forward").write_text(ws.script_path("forward").read_text() + "# porter's fix\n")
    assert display_status(ws, load_state(ws), "forward") == "stale"
    run_blocking(ws, "forward", "cpu")
    assert display_status(ws, load_state(ws), "forward") == "passed"
    ws.config_path.write_text(ws.config_path.read_text() + "\n[thresholds]\nforward = 1e-4\n")
    assert display_status(ws, load_state(ws), "forward") == "stale"
    assert display_status(ws, load_state(ws), "data") == "pending"


def test_the_log_and_state_record_the_run(tmp_path):
    ws = write_fake_workspace(tmp_path)
    run_blocking(ws, "data", "cpu")
    saved = load_state(ws)
    assert saved.current_step == "data"
    assert saved.steps["data"].log_path == ".paddle_port/logs/data.log"
    assert json.loads(ws.state_path.read_text())["steps"]["data"]["status"] == "passed"
    assert "diff check passed" in ws.log_path("data").read_text()


@pytest.mark.parametrize(("behaviour", "decisive_line", "first_key"), [
    ("pass", "features mean 1e-07 <= 1e-05", "logits"),
    ("fail", "features mean 0.03 > 1e-05", "features"),
    ("error", "error: fake setup error: the model factory is missing", None),
])
def test_results_lead_with_the_deciding_key(tmp_path, behaviour, decisive_line, first_key):
    ws = write_fake_workspace(tmp_path, {"forward": behaviour})
    assert load_result(ws, "forward") is None
    run_blocking(ws, "forward", "cpu")
    result = load_result(ws, "forward")
    assert decisive(result) == decisive_line
    rows = sorted_keys(result)
    assert (rows[0]["key"] if rows else None) == first_key


def test_blocking_run_delivers_events_in_order_between_its_lines(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "fail"})
    seen: list[tuple[str, object]] = []
    finished = run_blocking(ws, "forward", "gpu:1", fresh=True, on_line=lambda line: seen.append(("line", line)),
                            on_event=lambda event: seen.append(("event", event)))
    events = [item for kind, item in seen if kind == "event"]
    assert [event["event"] for event in events] == ["start", "stage", "key", "key", "result"]
    assert [event["diff"]["key"] for event in events if event["event"] == "key"] == ["logits", "features"]
    lines = [item for kind, item in seen if kind == "line"]
    assert lines[0] == "fake check forward device=gpu:1 fresh=True" and lines[-1] == "diff check failed"
    assert finished.status == "failed"
    assert load_state(ws).steps["forward"].status == "failed"


def test_blocking_run_without_a_pidfd_polls_for_the_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_pidfd", lambda pid: None)  # kernels before 5.3, seccomp-filtered containers
    ws = write_fake_workspace(tmp_path, {"forward": FakeCheck("fail", lines=2_000), "data": "orphan"})
    lines: list[str] = []
    assert run_blocking(ws, "forward", "cpu", on_line=lines.append).status == "failed"
    assert [line for line in lines if line.startswith("line ")] == [f"line {n}" for n in range(2_000)]
    lines.clear()
    assert run_blocking(ws, "data", "cpu", on_line=lines.append).status == "passed"
    grandchild = next(int(line.split()[1]) for line in lines if line.startswith("grandchild "))
    deadline = time.monotonic() + 5
    while not _dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(grandchild)


def test_ctrl_c_in_a_blocking_run_kills_the_whole_tree_and_is_recorded(tmp_path):
    ws = write_fake_workspace(tmp_path, {"weights": "grandchild"})
    pids: dict[str, int] = {}

    def interrupt_when_sleeping(line: str) -> None:
        if line.startswith("grandchild "):
            pids["grandchild"] = int(line.split()[1])
        if line == "sleeping":
            pids["child"] = load_state(ws).steps["weights"].pid
            assert not _dead(pids["grandchild"]) and not _dead(pids["child"])
            assert psutil.Process(pids["grandchild"]).ppid() == pids["child"]
            raise KeyboardInterrupt  # what Ctrl+C raises in the CLI's main thread

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_blocking(ws, "weights", "cpu", on_line=interrupt_when_sleeping)
    assert time.monotonic() - started < 10
    assert _dead(pids["child"]), "the check survived Ctrl+C"
    deadline = time.monotonic() + 5
    while not _dead(pids["grandchild"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pids["grandchild"]), "the grandchild in its own session survived Ctrl+C"
    saved = load_state(ws).steps["weights"]
    assert saved.status == "cancelled" and saved.pid is None


def test_the_cli_path_imports_neither_asyncio_nor_psutil(tmp_path):
    ws = write_fake_workspace(tmp_path)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from paddle_port_tui.runner import run_blocking; "
         "from paddle_port_tui.workspace import Workspace; "
         "print(run_blocking(Workspace(sys.argv[1]), 'forward', 'cpu').status, "
         "sorted(name for name in ('asyncio', 'psutil', 'ssl') if name in sys.modules))", str(ws.root)],
        capture_output=True, text=True, timeout=60,
    )
    assert probe.stdout.strip() == "passed []", probe.stderr


def test_waiting_for_a_slow_check_does_not_wake_the_cli_to_poll(tmp_path):
    ws = write_fake_workspace(tmp_path)
    ws.script_path("forward").write_text("import time\ntime.sleep(2)\n")
    before = resource.getrusage(resource.RUSAGE_SELF)
    finished = run_blocking(ws, "forward", "cpu")
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert finished.status == "error"  # it writes no result: only the waiting matters here
    assert load_state(ws).steps["forward"].duration_s >= 2.0
    # Each sleep of a poll loop is a voluntary switch: polling every 20 ms makes ~100 in 2 s; waiting on the
    # pidfd, a couple of dozen (start, the tree snapshot each second, the exit, saving the state).
    wakeups = after.ru_nvcsw - before.ru_nvcsw
    assert wakeups < 60, f"the CLI woke {wakeups} times while the check slept for 2 s"
