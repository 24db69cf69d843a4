"""Checks outlive their terminal: a hangup of the CLI or of the wizard (a dropped SSH session: the terminal
goes, the kernel sends SIGHUP) leaves the check running, and it delivers its result; Ctrl-C and SIGTERM
still stop it, with its whole tree; a reopened wizard, `paddle-port status` and `paddle-port cancel` find the
running check, show its output and can stop it. Runs of different steps go side by side.

The terminals here are real pseudo-terminals: closing the master side is what sshd does when a connection
drops, and the kernel's SIGHUP reaches the process group in the foreground, as it would on a server."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil
import pytest
from fake_checks import FakeCheck, write_fake_workspace
from harness import EXIT_INTERRUPTED, EXIT_PASSED, Outcome, assert_sound, porters_files

from paddle_port_tui.state import load_state
from paddle_port_tui.workspace import Workspace

CLI = [sys.executable, "-m", "paddle_port_tui"]
GATED = {"forward": FakeCheck("gated")}


class Terminal:
    """A command on a pseudo-terminal of its own (its controlling terminal), its screen drained as it comes."""

    def __init__(self, argv: list[str], cwd: Path, columns: int = 100, rows: int = 30) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "xterm-256color"},
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509 (the terminal is the test)
        )
        os.close(slave)
        self.screen = bytearray()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        # Never blocked in read() when the terminal is closed: a read in flight keeps the master open, and the
        # kernel hangs up only when its last user lets go.
        while not self._closing.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.screen += chunk

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def hang_up(self) -> int:
        """Close the terminal, as a dropped connection does; the command's exit status (-SIGHUP if it died of it)."""
        self._closing.set()
        self._reader.join(timeout=5)
        os.close(self.master)
        return self.process.wait(timeout=20)


def wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def gate_reached(ws: Workspace) -> bool:
    log = ws.log_path("forward")
    return log.is_file() and "waiting for gate" in log.read_text(encoding="utf-8", errors="replace")


def wait_gone(pid: int, timeout: float = 15) -> None:
    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(gone, f"pid {pid} to end", timeout)


def finished_outcome(ws: Workspace, before: dict[str, str], step: str = "forward") -> Outcome:
    """The run's own outcome, read from what it recorded once its face was gone."""
    record = load_state(ws).steps[step]
    code = {"passed": EXIT_PASSED, "cancelled": EXIT_INTERRUPTED}.get(record.status, 2)
    errors = [] if record.status == "passed" else [record.error or record.status]
    return Outcome(ws.root, before, code, errors=errors, step=step)


def test_a_hangup_of_the_cli_leaves_the_check_running_and_it_records_its_verdict(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", GATED)
    before = porters_files(ws.root)
    terminal = Terminal([*CLI, "run", "forward"], ws.root)
    wait_for(lambda: gate_reached(ws), "the check to start")
    assert terminal.hang_up() == -signal.SIGHUP, "the CLI dies of the hangup, as a terminal's process does"

    record = load_state(ws).steps["forward"]
    assert record.status == "running" and record.host_pid is not None and psutil.pid_exists(record.host_pid)
    (ws.root / "gate").touch()  # the check goes on without a terminal, and now ends
    wait_gone(record.host_pid)
    finished = load_state(ws).steps["forward"]
    assert (finished.status, finished.run_id, finished.pid, finished.host_pid) == ("passed", record.run_id, None, None)
    assert json.loads(ws.result_path("forward").read_text())["status"] == "passed"
    assert "fake check forward" in ws.log_path("forward").read_text()
    assert_sound(finished_outcome(ws, before), EXIT_PASSED)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_check_and_its_whole_tree(tmp_path: Path, sig: signal.Signals) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("grandchild")})
    before = porters_files(ws.root)
    app = subprocess.Popen([*CLI, "run", "forward"], cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(
        lambda: "grandchild" in (ws.log_path("forward").read_text() if ws.log_path("forward").exists() else ""),
        "the grandchild",
    )
    grandchild = int(ws.log_path("forward").read_text().split("grandchild ")[1].split()[0])
    app.send_signal(sig)
    out, err = app.communicate(timeout=30)
    assert app.returncode == EXIT_INTERRUPTED, err
    assert err.decode().strip().splitlines()[-1] == "paddle-port: interrupted"
    assert load_state(ws).steps["forward"].status == "cancelled"
    wait_gone(grandchild)
    said = err.decode().strip().splitlines()
    outcome = Outcome(ws.root, before, app.returncode, out.decode(), err.decode(), said[-1:], step="forward")
    assert_sound(outcome, EXIT_INTERRUPTED)


def hang_up_mid_run(tmp_path: Path, face: str) -> tuple[Workspace, dict[str, str]]:
    """A workspace whose check waits at its gate, started from `face` ("wizard": the `r` key; "cli": `paddle-port
    run`) on a terminal that then hangs up; the porter's files as they were before."""
    ws = write_fake_workspace(tmp_path / "ws", GATED)
    before = porters_files(ws.root)
    if face == "wizard":
        terminal = Terminal([*CLI, "tui", str(ws.root)], ws.root)
        wait_for(lambda: b"Steps" in terminal.screen, "the wizard's first frame")
        terminal.type("r")
    else:
        terminal = Terminal([*CLI, "run", "forward"], ws.root)
    wait_for(lambda: gate_reached(ws), "the check to start")
    terminal.hang_up()
    return ws, before


def test_a_hung_up_wizard_reopened_later_shows_the_finished_check_and_its_result(tmp_path: Path) -> None:
    from paddle_port_tui.tui.app import PaddlePortApp

    ws, before = hang_up_mid_run(tmp_path, "wizard")
    host = load_state(ws).steps["forward"].host_pid
    assert host is not None and psutil.pid_exists(host), "the run's host outlived the wizard"
    (ws.root / "gate").touch()
    wait_gone(host)

    async def reopen() -> None:
        app = PaddlePortApp(ws, devices=["cpu"])
        async with app.run_test(size=(100, 30)):
            assert app.step_status("forward") == "passed"
            result = app.result("forward")
            assert result is not None and result.status == "passed" and result.keys[0].key == "logits"

    import asyncio

    asyncio.run(reopen())
    assert_sound(finished_outcome(ws, before), EXIT_PASSED)


def test_a_wizard_reopened_during_the_run_shows_its_output_so_far_and_can_cancel_it(tmp_path: Path) -> None:
    from textual.widgets import RichLog

    from paddle_port_tui.tui.app import PaddlePortApp

    ws, before = hang_up_mid_run(tmp_path, "wizard")
    record = load_state(ws).steps["forward"]

    async def reopen_and_cancel() -> None:
        app = PaddlePortApp(ws, devices=["cpu"])
        async with app.run_test(size=(100, 30)) as pilot:
            deadline = time.monotonic() + 20
            while not any(
                "waiting for gate" in line.text for line in app.screen.page("forward").query_one(RichLog).lines
            ):
                assert time.monotonic() < deadline, "the output from before the reopening never showed"
                await pilot.pause(0.05)
            assert app.step_status("forward") == "running"
            await pilot.press("c")
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert app.step_status("forward") == "cancelled"

    import asyncio

    asyncio.run(reopen_and_cancel())
    assert record.pid is not None
    wait_gone(record.pid)
    outcome = finished_outcome(ws, before)
    assert load_state(ws).steps["forward"].status == "cancelled"
    assert_sound(outcome, EXIT_INTERRUPTED)


def test_status_shows_a_running_check_follows_it_and_cancel_stops_it(tmp_path: Path) -> None:
    ws, before = hang_up_mid_run(tmp_path, "cli")
    record = load_state(ws).steps["forward"]

    status = subprocess.run([*CLI, "status"], cwd=ws.root, capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    assert "forward: running since" in status.stdout and f"host pid {record.host_pid}" in status.stdout
    assert "waiting for gate" in status.stdout, "the log's last lines are shown"
    listed = json.loads(subprocess.run([*CLI, "status", "--json"], cwd=ws.root, capture_output=True, timeout=30).stdout)
    assert [(step["step"], step["run_id"]) for step in listed["running"]] == [("forward", record.run_id)]

    follower = subprocess.Popen([*CLI, "status", "--follow"], cwd=ws.root, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert follower.poll() is None, "--follow waits for the run"
    cancel = subprocess.run([*CLI, "cancel"], cwd=ws.root, capture_output=True, text=True, timeout=30)
    assert (cancel.returncode, cancel.stdout.strip()) == (0, "forward: cancelled"), cancel.stderr
    out, _ = follower.communicate(timeout=30)
    assert follower.returncode == 2 and "waiting for gate" in out, "it replayed the output and ended with the run"
    assert record.pid is not None
    wait_gone(record.pid)
    assert_sound(finished_outcome(ws, before), EXIT_INTERRUPTED)
    nothing = subprocess.run([*CLI, "cancel"], cwd=ws.root, capture_output=True, text=True, timeout=30)
    assert (nothing.returncode, nothing.stdout.strip()) == (0, "paddle-port: no check is running")


def test_runs_of_different_steps_go_side_by_side_and_keep_their_own_records(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("gated"), "data": FakeCheck("pass")})
    first = subprocess.Popen([*CLI, "run", "forward"], cwd=ws.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: gate_reached(ws), "the check to start")
        second = subprocess.run(
            [*CLI, "run", "data", "--no-wait"], cwd=ws.root, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr
        state = load_state(ws)
        assert (state.steps["data"].status, state.steps["forward"].status) == ("passed", "running")
        (ws.root / "gate").touch()
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
    state = load_state(ws)
    assert state.steps["forward"].status == state.steps["data"].status == "passed"
    assert state.steps["forward"].run_id != state.steps["data"].run_id


def test_a_cancel_while_the_host_starts_is_a_cancel_not_a_killed_host(tmp_path: Path) -> None:
    from paddle_port_tui.flow import FlowRun
    from paddle_port_tui.run_host import launch

    ws = write_fake_workspace(tmp_path / "ws", GATED)
    before = porters_files(ws.root)
    flow = FlowRun(ws, ["forward"], "cpu", load_state(ws))
    flow.claim()
    host = launch(ws, flow.lock, ["forward"], "cpu", fresh=False)
    flow.lock.release()
    host.cancel()  # at once: the host has not even imported the runner yet
    flow.host = host
    (finished,) = flow.run()
    assert finished.status == "cancelled", finished
    assert host.process is not None and host.process.returncode == 0, "the host ended by itself, not by SIGTERM"
    code = EXIT_INTERRUPTED if finished.status == "cancelled" else 2
    assert_sound(Outcome(ws.root, before, code, errors=[finished.error or ""], step="forward"), EXIT_INTERRUPTED)


def test_cancel_says_a_queued_step_never_began_and_keeps_the_porters_device_pick(tmp_path: Path) -> None:
    from paddle_port_tui.state import save_state

    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("gated"), "data": FakeCheck("pass")})
    app = subprocess.Popen([*CLI, "run", "forward", "data"], cwd=ws.root, stdout=subprocess.DEVNULL)
    wait_for(lambda: gate_reached(ws), "the check to start")
    state = load_state(ws)
    state.device, state.current_step = "gpu:1", "metric"  # the wizard, meanwhile, in another window
    save_state(ws, state)

    cancel = subprocess.run([*CLI, "cancel"], cwd=ws.root, capture_output=True, text=True, timeout=30)
    app.wait(timeout=30)
    assert cancel.stdout.splitlines() == ["forward: cancelled", "data: cancelled before it began"], cancel.stdout
    after = load_state(ws)
    assert (after.device, after.current_step) == ("gpu:1", "metric"), "the run's host saved only its steps"
