"""The runner against fake check scripts: statuses, events, the full log, cancel of the whole tree, and the
worker that runs several steps in one process (markers, crashes, timeouts).

One driver serves both faces: `StepsRun.run()` (the wizard runs it in a thread, the CLI directly) and
`run_blocking`, its one-step wrapper with plain callbacks.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from fake_checks import FakeCheck, fake_script, write_fake_workspace

from paddle_port_checks import worker
from paddle_port_checks.catalogue import Step
from paddle_port_checks.schema import Event
from paddle_port_tui import runner
from paddle_port_tui.results import decisive, load_result, sorted_keys
from paddle_port_tui.runner import Finished, RunListener, StepsRun, run_blocking
from paddle_port_tui.state import display_status, load_state
from paddle_port_tui.workspace import Workspace

THREE_STEPS = ["forward", "data", "metric"]


class Recorder(RunListener):
    """Everything a run tells its listener, in order: ("started" | "line" | "event" | "finished", step, ...).
    `on_line(text)` is called on each output line (to cancel or fail mid-run)."""

    def __init__(self, on_line: Callable[[str], None] | None = None) -> None:
        self.story: list[tuple] = []
        self.on_line = on_line

    def step_started(self, step: Step) -> None:
        self.story.append(("started", step.id))

    def lines(self, step: Step, texts: list[str]) -> None:
        for text in texts:
            self.story.append(("line", step.id, text))
            if self.on_line is not None:
                self.on_line(text)

    def event(self, step: Step, event: Event) -> None:
        self.story.append(("event", step.id, event))

    def step_finished(self, step: Step, finished: Finished) -> None:
        self.story.append(("finished", step.id, finished))

    def of(self, kind: str, step_id: str) -> list:
        return [item[2] for item in self.story if item[0] == kind and item[1] == step_id]

    def started(self) -> list[str]:
        return [item[1] for item in self.story if item[0] == "started"]

    def pid(self, step_id: str) -> int:
        """The process the step's script ran in (a FakeCheck with pid=True prints it)."""
        return next(int(text.split()[1]) for text in self.of("line", step_id) if text.startswith("pid "))


def _run(ws: Workspace, steps: list[str], device: str = "cpu", **options) -> tuple[list[Finished], Recorder]:
    recorder = Recorder()
    return StepsRun(ws, steps, device, listener=recorder, **options).run(), recorder


def _statuses(finished: list[Finished]) -> list[tuple[str, str]]:
    return [(item.step, item.status) for item in finished]


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting for whatever re-parented it: either way it runs no more."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _all_dead(*pids: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while not all(_dead(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return all(_dead(pid) for pid in pids)


def _watch_tree(ws: Workspace, step_id: str, pids: dict[str, int], then: Callable[[], None]) -> Callable[[str], None]:
    """An on_line callback for a `grandchild` fake: notes the pids, and once the check sleeps checks that the
    worker and its grandchild both run (and the state says so), then calls `then` (cancel, raise...)."""

    def watch(text: str) -> None:
        if text.startswith("grandchild "):
            pids["grandchild"] = int(text.split()[1])
        if text == "sleeping":
            pids["child"] = load_state(ws).steps[step_id].pid
            assert not _dead(pids["grandchild"]) and not _dead(pids["child"])  # both alive before it ends
            assert psutil.Process(pids["grandchild"]).ppid() == pids["child"]
            assert load_state(ws).steps[step_id].status == "running"
            then()

    return watch


def _told_within_their_steps(story: list[tuple]) -> bool:
    """Every output line and event is told as its step's, between that step's start and finish."""
    running = None
    for kind, step, *_ in story:
        if kind == "started":
            running = step
        elif kind == "finished":
            running = None
        elif step != running:
            return False
    return True


def _assert_the_failing_forward_story(events: list[Event], lines: list[str]) -> None:
    """What the `fail` fake of forward says, run with device gpu:1 and --fresh."""
    assert [event.kind for event in events] == ["start", "stage", "key", "key", "result"]
    assert events[0].device == "gpu:1"
    assert [event.diff.key for event in events if event.kind == "key"] == ["logits", "features"]
    assert lines[0] == "fake check forward device=gpu:1 fresh=True"
    assert lines[-1] == "diff check failed"


# --- one step: verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "status", "exit_code"),
    [
        ("pass", "passed", 0),
        ("fail", "failed", 1),
        ("error", "error", 2),
    ],
)
def test_status_and_exit_code_follow_the_result(tmp_path, behaviour, status, exit_code):
    ws = write_fake_workspace(tmp_path, {"forward": behaviour})
    finished = run_blocking(ws, "forward", "cpu")
    assert (finished.status, finished.exit_code) == (status, exit_code)
    assert finished.result is not None and finished.result.status == status
    saved = load_state(Workspace(tmp_path)).steps["forward"]
    assert (saved.status, saved.exit_code, saved.device) == (status, exit_code, "cpu")
    assert saved.result_path == "result/forward.json" and saved.pid is None
    assert saved.finished_at is not None and saved.duration_s is not None


def test_crash_is_an_error_with_the_traceback_tail(tmp_path):
    ws = write_fake_workspace(tmp_path, {"data": "crash"})
    finished = run_blocking(ws, "data", "cpu")
    # The worker reports an escaped exception as the checks' error code (2); `python script.py` says 1.
    assert finished.status == "error" and finished.exit_code == worker.EXIT_ERROR and finished.result is None
    assert "without writing result/data.json" in finished.error
    assert "RuntimeError: the fake model exploded" in finished.error
    assert "Traceback" in finished.error
    assert load_state(ws).steps["data"].error == finished.error


def test_exit_zero_without_a_result_is_an_error(tmp_path):
    ws = write_fake_workspace(tmp_path, {"metric": "noresult"})
    finished = run_blocking(ws, "metric", "cpu")
    assert finished.status == "error" and finished.exit_code == 0
    assert "exited with code 0 without writing result/metric.json" in finished.error


def test_a_result_left_by_an_earlier_run_is_not_trusted(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "pass"})
    assert run_blocking(ws, "forward", "cpu").status == "passed"
    ws.script_path("forward").write_text("raise SystemExit(0)\n")
    finished = run_blocking(ws, "forward", "cpu")
    assert finished.status == "error" and finished.result is None


def test_missing_script_is_an_error_without_a_process_and_the_others_still_run(tmp_path):
    ws = write_fake_workspace(tmp_path)
    ws.script_path("metric").unlink()
    finished, recorder = _run(ws, ["data", "metric"])
    assert _statuses(finished) == [("data", "passed"), ("metric", "error")]
    assert "paddle-port generate metric" in finished[1].error
    assert recorder.started() == ["data"]  # metric never reached a worker
    assert not ws.log_path("metric").exists()
    assert load_state(ws).steps["metric"].status == "error"


# --- one step: what the child sees and says --------------------------------------------------------------


def test_events_arrive_in_order_and_lines_carry_arguments(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "fail"})
    finished, recorder = _run(ws, ["forward"], "gpu:1", fresh=True)
    _assert_the_failing_forward_story(recorder.of("event", "forward"), recorder.of("line", "forward"))
    assert _told_within_their_steps(recorder.story)
    assert recorder.story[-1] == ("finished", "forward", finished[0]) and finished[0].status == "failed"


def test_blocking_run_delivers_events_in_order_between_its_lines(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "fail"})
    seen: list[tuple[str, object]] = []
    finished = run_blocking(
        ws,
        "forward",
        "gpu:1",
        fresh=True,
        on_line=lambda line: seen.append(("line", line)),
        on_event=lambda event: seen.append(("event", event)),
    )
    _assert_the_failing_forward_story(
        [item for kind, item in seen if kind == "event"], [item for kind, item in seen if kind == "line"]
    )
    assert finished.status == "failed"
    assert load_state(ws).steps["forward"].status == "failed"


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
    assert seen == len(logged) >= 100_000
    assert elapsed < 20, f"100,000 lines took {elapsed:.1f} s"


def test_the_log_and_state_record_the_run(tmp_path):
    ws = write_fake_workspace(tmp_path)
    run_blocking(ws, "data", "cpu")
    saved = load_state(ws)
    assert saved.current_step == "data"
    assert saved.steps["data"].log_path == ".paddle_port/logs/data.log"
    assert json.loads(ws.state_path.read_text())["steps"]["data"]["status"] == "passed"
    assert "diff check passed" in ws.log_path("data").read_text()


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


@pytest.mark.parametrize(
    ("behaviour", "decisive_line", "first_key"),
    [
        ("pass", "features mean 1e-07 <= 1e-05", "logits"),
        ("fail", "features mean 0.03 > 1e-05", "features"),
        ("error", "error: fake setup error: the model factory is missing", None),
    ],
)
def test_results_lead_with_the_deciding_key(tmp_path, behaviour, decisive_line, first_key):
    ws = write_fake_workspace(tmp_path, {"forward": behaviour})
    assert load_result(ws, "forward") is None
    run_blocking(ws, "forward", "cpu")
    result = load_result(ws, "forward")
    assert decisive(result) == decisive_line
    rows = sorted_keys(result)
    assert (rows[0].key if rows else None) == first_key


# --- stopping: cancel, listener failures, Ctrl+C, orphans ------------------------------------------------


@pytest.mark.parametrize("from_thread", [False, True], ids=["from-its-listener", "from-another-thread"])
def test_cancel_kills_the_child_and_its_grandchild(tmp_path, from_thread):
    ws = write_fake_workspace(tmp_path, {"weights": "grandchild"})
    pids: dict[str, int] = {}
    sleeping = threading.Event()
    recorder = Recorder(_watch_tree(ws, "weights", pids, then=lambda: sleeping.set() if from_thread else run.cancel()))
    run = StepsRun(ws, ["weights"], "cpu", listener=recorder)
    canceller = threading.Thread(target=lambda: sleeping.wait(30) and run.cancel(), daemon=True)
    if from_thread:
        canceller.start()
    started = time.monotonic()
    (finished,) = run.run()
    assert time.monotonic() - started < 10
    if from_thread:
        canceller.join(timeout=5)
    assert finished.status == "cancelled" and recorder.story[-1] == ("finished", "weights", finished)
    assert _dead(pids["child"]), "the check's worker survived cancel"
    assert _all_dead(pids["grandchild"]), "the grandchild in its own session survived cancel"
    assert load_state(ws).steps["weights"].status == "cancelled"


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError], ids=["ctrl-c", "a-listener-bug"])
def test_an_exception_from_a_listener_mid_run_kills_the_whole_tree_and_is_recorded(tmp_path, error):
    """Ctrl+C raises KeyboardInterrupt in the CLI's main thread, wherever the driver is; a listener that
    fails is the same to the run: the tree dies, the step is cancelled, the exception goes on."""
    ws = write_fake_workspace(tmp_path, {"weights": "grandchild"})
    pids: dict[str, int] = {}

    def fail() -> None:
        raise error("the listener gave up")

    started = time.monotonic()
    with pytest.raises(error):
        run_blocking(ws, "weights", "cpu", on_line=_watch_tree(ws, "weights", pids, then=fail))
    assert time.monotonic() - started < 10
    assert _dead(pids["child"]), "the check's worker survived"
    assert _all_dead(pids["grandchild"]), "the grandchild in its own session survived"
    saved = load_state(ws).steps["weights"]
    assert saved.status == "cancelled" and saved.pid is None


def test_ctrl_c_in_the_cli_cancels_the_run(tmp_path):
    ws = write_fake_workspace(tmp_path, {"predict": "sleep"})
    cli = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from paddle_port_tui.runner import run_blocking; "
            "from paddle_port_tui.workspace import Workspace; "
            "run_blocking(Workspace(sys.argv[1]), 'predict', 'cpu', on_line=lambda line: print(line, flush=True))",
            str(ws.root),
        ],
        stdout=subprocess.PIPE,
        text=True,
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
        cli.stdout.close()
    assert _dead(child)
    assert load_state(ws).steps["predict"].status == "cancelled"


def test_a_check_that_leaves_a_grandchild_behind_still_finishes_and_leaves_no_orphan(tmp_path):
    ws = write_fake_workspace(tmp_path, {"forward": "orphan"})
    lines: list[str] = []
    started = time.monotonic()
    finished = run_blocking(ws, "forward", "cpu", on_line=lines.append)
    assert finished.status == "passed"
    assert time.monotonic() - started < 10
    grandchild = next(int(line.split()[1]) for line in lines if line.startswith("grandchild "))
    assert _all_dead(grandchild)


def test_blocking_run_without_a_pidfd_polls_for_the_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "pidfd", lambda pid: None)  # kernels before 5.3, seccomp-filtered containers
    ws = write_fake_workspace(tmp_path, {"forward": FakeCheck("fail", lines=2_000), "data": "orphan"})
    lines: list[str] = []
    assert run_blocking(ws, "forward", "cpu", on_line=lines.append).status == "failed"
    assert [line for line in lines if line.startswith("line ")] == [f"line {n}" for n in range(2_000)]
    lines.clear()
    assert run_blocking(ws, "data", "cpu", on_line=lines.append).status == "passed"
    grandchild = next(int(line.split()[1]) for line in lines if line.startswith("grandchild "))
    assert _all_dead(grandchild)


# --- the CLI's costs -------------------------------------------------------------------------------------


def test_the_cli_path_imports_neither_asyncio_nor_psutil(tmp_path):
    ws = write_fake_workspace(tmp_path)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from paddle_port_tui.runner import run_blocking; "
            "from paddle_port_tui.workspace import Workspace; "
            "print(run_blocking(Workspace(sys.argv[1]), 'forward', 'cpu').status, "
            "sorted(name for name in ('asyncio', 'psutil', 'ssl') if name in sys.modules))",
            str(ws.root),
        ],
        capture_output=True,
        text=True,
        timeout=60,
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


# --- several steps in one worker -------------------------------------------------------------------------


def test_several_steps_run_in_one_worker_each_with_its_own_log_and_record(tmp_path):
    ws = write_fake_workspace(
        tmp_path,
        {
            "forward": FakeCheck("pass", pid=True),
            "data": FakeCheck("fail", pid=True),
            "metric": FakeCheck("pass", lines=3, pid=True),
        },
    )
    finished, recorder = _run(ws, THREE_STEPS)
    assert _statuses(finished) == [("forward", "passed"), ("data", "failed"), ("metric", "passed")]
    pids = {recorder.pid(step) for step in THREE_STEPS}
    assert len(pids) == 1 and os.getpid() not in pids, "not one worker process"
    bounds = [item[:2] for item in recorder.story if item[0] in ("started", "finished")]
    assert bounds == [(kind, step) for step in THREE_STEPS for kind in ("started", "finished")]
    assert _told_within_their_steps(recorder.story)
    saved = load_state(ws)
    for step in THREE_STEPS:
        logged = ws.log_path(step).read_text().splitlines()
        assert logged == recorder.of("line", step)
        assert logged[0] == f"fake check {step} device=cpu fresh=False" and logged[1].startswith("pid ")
        assert not any("::paddle-port:" in line for line in logged)
        assert all(event.step == step for event in recorder.of("event", step))
        assert [event.kind for event in recorder.of("event", step)][-1] == "result"
        record = saved.steps[step]
        assert (record.status, record.log_path, record.result_path) == (
            dict(_statuses(finished))[step],
            f".paddle_port/logs/{step}.log",
            f"result/{step}.json",
        )
        assert record.pid is None and record.finished_at is not None
    assert recorder.of("line", "metric")[2:5] == ["line 0", "line 1", "line 2"]


def test_a_step_that_kills_its_worker_is_its_error_and_the_rest_run_in_a_new_worker(tmp_path):
    ws = write_fake_workspace(
        tmp_path,
        {step: FakeCheck("pass", pid=True) for step in THREE_STEPS} | {"data": FakeCheck("segfault", pid=True)},
    )
    finished, recorder = _run(ws, THREE_STEPS)
    assert _statuses(finished) == [("forward", "passed"), ("data", "error"), ("metric", "passed")]
    crashed = finished[1]
    assert crashed.exit_code == -signal.SIGSEGV
    assert "was killed by SIGSEGV without writing result/data.json" in crashed.error
    assert "segfaulting" in crashed.error  # the tail of its output
    assert recorder.pid("forward") == recorder.pid("data") != recorder.pid("metric")
    assert recorder.started() == THREE_STEPS
    assert load_state(ws).steps["data"].status == "error"
    assert ws.log_path("metric").read_text().splitlines() == recorder.of("line", "metric")


@pytest.mark.parametrize("from_config", [False, True], ids=["argument", "config"])
def test_a_hung_step_times_out_as_an_error_and_the_next_still_runs(tmp_path, from_config):
    ws = write_fake_workspace(tmp_path, {"data": FakeCheck("sleep", pid=True)})
    if from_config:  # the fake config ends in its [run] table
        ws.config_path.write_text(ws.config_path.read_text() + "timeout_s = 1\n")
    started = time.monotonic()
    finished, recorder = _run(ws, ["data", "metric"], timeout_s=None if from_config else 1)
    assert time.monotonic() - started < 10
    assert _statuses(finished) == [("data", "error"), ("metric", "passed")]
    assert "data ran longer than [run] timeout_s = 1 s and was stopped" in finished[0].error
    assert _all_dead(recorder.pid("data"))
    assert load_state(ws).steps["data"].status == "error"


def test_cancel_during_the_second_of_three_steps_cancels_the_rest_and_leaves_no_orphan(tmp_path):
    ws = write_fake_workspace(tmp_path, {"data": "grandchild"})
    pids: dict[str, int] = {}
    recorder = Recorder(_watch_tree(ws, "data", pids, then=lambda: run.cancel()))
    run = StepsRun(ws, THREE_STEPS, "cpu", listener=recorder)
    finished = run.run()
    assert _statuses(finished) == [("forward", "passed"), ("data", "cancelled"), ("metric", "cancelled")]
    assert recorder.started() == ["forward", "data"]  # metric never began
    # ... but its listener hears it end, so a face (the wizard) never shows it running for ever
    assert [finished.status for finished in recorder.of("finished", "metric")] == ["cancelled"]
    assert not ws.log_path("metric").exists()
    assert _dead(pids["child"]) and _all_dead(pids["grandchild"])
    saved = load_state(ws)
    assert (saved.steps["data"].status, saved.steps["metric"].status) == ("cancelled", "pending")


# --- the markers ---------------------------------------------------------------------------------------


def test_output_imitating_a_marker_with_another_nonce_is_output(tmp_path):
    forged = ["::paddle-port:0123456789abcdef:end:forward:0::", "::paddle-port:0123456789abcdef:begin:data::"]
    ws = write_fake_workspace(tmp_path)
    ws.script_path("forward").write_text(
        "".join(f"print({line!r})\n" for line in forged) + fake_script("forward", "fail")
    )
    finished, recorder = _run(ws, ["forward", "data"])
    assert _statuses(finished) == [("forward", "failed"), ("data", "passed")]
    assert recorder.of("line", "forward")[:2] == forged
    assert ws.log_path("forward").read_text().splitlines()[:2] == forged
    assert recorder.started() == ["forward", "data"]
    assert forged[1] not in recorder.of("line", "data")


def test_output_without_a_final_newline_still_ends_its_step(tmp_path):
    """The worker's end marker then shares the script's last line: the step must still end there (once)."""
    ws = write_fake_workspace(tmp_path)
    ws.script_path("forward").write_text("import sys\nprint('first')\nsys.stdout.write('no newline at the end')\n")
    finished, recorder = _run(ws, ["forward", "data"])
    assert _statuses(finished) == [("forward", "error"), ("data", "passed")]
    assert finished[0].exit_code == 0 and "no newline at the end" in finished[0].error
    assert recorder.started() == ["forward", "data"]  # each ran once
    assert recorder.of("line", "forward") == ["first", "no newline at the end"]
    assert ws.log_path("forward").read_text() == "first\nno newline at the end\n"
    assert ws.log_path("data").read_text().splitlines() == recorder.of("line", "data")


PAUSE = 0.2  # long enough for the runner to read what came before as a chunk of its own


def _scripted_interpreter(ws: Workspace, writes: list[str | float | Event]) -> None:
    """Make the workspace's `[run] python` a program that ignores the scripts and writes, in order, each
    text to its output (NONCE replaced by the run's marker) and each event to the event pipe, and sleeps
    for each number: the reads the runner gets are then known, not left to chance."""
    program = ws.root / "scripted_python"
    plan = [item if isinstance(item, (str, float)) else ["event", json.dumps(item.to_json()) + "\n"] for item in writes]
    program.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        "nonce, events = sys.argv[sys.argv.index('--marker') + 1], int(os.environ['PADDLE_PORT_EVENT_FD'])\n"
        f"for item in {plan!r}:\n"
        "    if isinstance(item, float):\n"
        "        time.sleep(item)\n"
        "    else:\n"
        "        fd, text = (events, item[1]) if isinstance(item, list) else (1, item.replace('NONCE', nonce))\n"
        "        os.write(fd, text.encode())\n"
    )
    program.chmod(0o755)
    ws.config_path.write_text(ws.config_path.read_text() + f"python = {json.dumps(str(program))}\n")


def test_a_line_cut_across_reads_is_logged_once_next_to_a_marker(tmp_path):
    ws = write_fake_workspace(tmp_path)
    _scripted_interpreter(
        ws,
        [
            "::paddle-port:NONCE:begin:forward::\n",
            PAUSE,
            "first\nhal",
            PAUSE,
            "f a line\n::paddle-port:NONCE:end:forward:1::\n",
            PAUSE,
            "::paddle-port:NONCE:begin:data::\nsec",
            PAUSE,
            "ond\n",
            PAUSE,
            "::paddle-port:NONCE:end:data:1::\n",
        ],
    )
    finished, recorder = _run(ws, ["forward", "data"])
    assert [item.exit_code for item in finished] == [1, 1]
    assert recorder.of("line", "forward") == ["first", "half a line"]
    assert ws.log_path("forward").read_text() == "first\nhalf a line\n"
    assert recorder.of("line", "data") == ["second"]
    assert ws.log_path("data").read_text() == "second\n"


def test_a_steps_events_are_told_after_its_start_and_before_its_verdict(tmp_path):
    """Events travel on their own pipe: one read before its step's begin marker waits for it, and those
    still in the pipe when the end marker is read are taken before the verdict."""
    ws = write_fake_workspace(tmp_path)
    _scripted_interpreter(
        ws,
        [
            Event("start", "forward", device="cpu"),
            PAUSE,
            "::paddle-port:NONCE:begin:forward::\n",
            PAUSE,
            "working\n",
            PAUSE,
            Event("result", "forward", status="failed"),
            "::paddle-port:NONCE:end:forward:1::\n",
        ],
    )
    finished, recorder = _run(ws, ["forward"])
    assert [item[0] for item in recorder.story] == ["started", "event", "line", "event", "finished"]
    assert [event.kind for event in recorder.of("event", "forward")] == ["start", "result"]
    assert _told_within_their_steps(recorder.story) and finished[0].exit_code == 1


# --- the worker itself ---------------------------------------------------------------------------------


PROBE = """\
import json, sys
import probe_sibling_module  # importable only with the script's folder on sys.path
print(json.dumps({"name": __name__, "path0": sys.path[0], "argv": sys.argv, "file": __file__,
                  "sibling": probe_sibling_module.WHERE}))
"""


def _probe_script(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "probe_sibling_module.py").write_text("WHERE = 'next to the script'\n")
    script = folder / "probe.py"
    script.write_text(PROBE)
    return script


def test_the_worker_runs_a_script_as_python_would(tmp_path, capsys, monkeypatch):
    script = _probe_script(tmp_path)
    by_hand = subprocess.run(
        [sys.executable, str(script), "--device", "cpu"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    monkeypatch.delitem(sys.modules, "probe_sibling_module", raising=False)
    argv, path = list(sys.argv), list(sys.path)
    assert worker.run_script(script, ["--device", "cpu"]) == 0
    sys.modules.pop("probe_sibling_module", None)
    assert (sys.argv, sys.path) == (argv, path)  # both put back for the next script
    seen = json.loads(capsys.readouterr().out)
    assert seen == json.loads(by_hand.stdout)
    assert seen["name"] == "__main__" and seen["path0"] == str(script.parent)
    assert seen["argv"] == [str(script), "--device", "cpu"]


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        ("pass", 0, ""),
        ("raise SystemExit", 0, ""),
        ("raise SystemExit(3)", 3, ""),
        ("import sys; sys.exit('the model is missing')", 1, "the model is missing"),
        ("raise ValueError('broken script')", worker.EXIT_ERROR, "ValueError: broken script"),
    ],
)
def test_the_worker_gives_each_script_its_exit_code(tmp_path, capsys, body, code, said):
    script = tmp_path / "check.py"
    script.write_text(body + "\n")
    assert worker.run_script(script, []) == code
    assert said in capsys.readouterr().err


def test_the_worker_brackets_each_step_with_markers_and_passes_its_run_id(tmp_path, capsys):
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text("import sys; print(sys.argv[1:])\n")
    second.write_text("import sys; print(sys.argv[1:]); sys.exit(1)\n")
    worst = worker.main(
        ["--marker", "N0", "--run-id", "R", "--device", "gpu:0", "--fresh", f"forward={first}", f"data={second}"]
    )
    assert worst == 1
    options = ["--device", "gpu:0", "--fresh", "--run-id"]
    assert capsys.readouterr().out.splitlines() == [
        "::paddle-port:N0:begin:forward::",
        str([*options, "R:forward"]),
        "::paddle-port:N0:end:forward:0::",
        "::paddle-port:N0:begin:data::",
        str([*options, "R:data"]),
        "::paddle-port:N0:end:data:1::",
    ]


def test_only_a_marker_of_this_nonce_parses():
    for what, code in (("begin", None), ("end", 0), ("end", -11), ("end", 2)):
        line = worker.marker("abc123", what, "forward", code)
        assert worker.parse_marker("abc123", line) == (what, "forward", code)
        assert worker.parse_marker("other", line) is None
    for line in (
        "::paddle-port:abc123:begin:forward",
        "x::paddle-port:abc123:begin:forward::",
        "::paddle-port:abc123:middle:forward::",
        "::paddle-port:abc123:begin:::",
        "plain output",
    ):
        assert worker.parse_marker("abc123", line) is None, line


def test_a_cancel_after_the_run_ended_writes_nowhere(tmp_path):
    ws = write_fake_workspace(tmp_path)
    run = StepsRun(ws, ["forward"], "cpu")
    assert _statuses(run.run()) == [("forward", "passed")]
    reused_read, reused_write = os.pipe()  # the numbers the run's wake-up pipe had are free again
    try:
        run.cancel()  # must not write into whatever now holds those descriptors
        os.set_blocking(reused_read, False)
        with pytest.raises(BlockingIOError):
            os.read(reused_read, 1)
    finally:
        os.close(reused_read)
        os.close(reused_write)
