"""App-side faults of the CLI: each is one line with the contract's exit code (0 passed, 1 a comparison
failed, 2 could not run, 130 interrupted), never a traceback, never a stale or half-written state; and
`paddle-port serve`, the wizard in a browser for a server reached by `ssh -L`."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fake_checks import FAKE_CONFIG, FakeCheck, write_fake_workspace
from harness import EXIT_ERROR, assert_sound, processes_in, run_cli

from paddle_port_tui.cli import main

CLI = [sys.executable, "-m", "paddle_port_tui"]
HAS_TEXTUAL_SERVE = importlib.util.find_spec("textual_serve") is not None


def cli(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [*CLI, *argv], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("paddle-port: error:")]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- output whose reader goes away: `paddle-port run | head -1` -----------------------------------------


def test_run_piped_into_head_stops_quietly_with_exit_2_and_a_valid_state(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("pass", lines=200_000)})
    run = subprocess.Popen(
        [*CLI, "run"], cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"}
    )
    assert run.stdout is not None and run.stderr is not None
    first = run.stdout.readline()  # what `head -1` reads before it exits
    run.stdout.close()
    stderr = run.stderr.read().decode()
    code = run.wait(timeout=60)
    assert first.strip(), "the run printed nothing"
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert code == 2, (code, stderr)  # a stopped run is "could not run", never rich's 1 ("a comparison failed")
    assert "broken pipe" in stderr and len(stderr.strip().splitlines()) == 1, stderr
    state = json.loads(ws.state_path.read_text())  # valid JSON, and no step left "running"
    assert state["steps"]["forward"]["status"] == "cancelled", state["steps"]["forward"]
    assert all(step["status"] != "running" for step in state["steps"].values())
    deadline = time.monotonic() + 5
    while processes_in(ws.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_in(ws.root) == [], "the worker outlived the run it belonged to"


def test_report_into_a_closed_pipe_has_no_traceback(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws")
    assert cli("run", cwd=ws.root).returncode == 0
    done = subprocess.run(
        f"{' '.join(CLI)} report --format md -o - | head -c 1 >/dev/null; echo rc=${{PIPESTATUS[0]}} >&2",
        shell=True,
        executable="/bin/bash",
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    # The report may fit in the pipe before head exits (0) or meet the closed pipe (2): never 1, never 120.
    assert done.stderr.strip().splitlines()[-1] in ("rc=0", "rc=2"), done.stderr


# --- workspaces the app cannot write -----------------------------------------------------------------


def _read_only_runner() -> list[str] | None:
    """How to run a command that the file modes bind. Root ignores them; as root, `unshare -U` (a new user
    namespace, without capabilities over the host's files) makes them count again."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-U", "true"], capture_output=True).returncode == 0:
        probe = subprocess.run([unshare, "-U", "sh", "-c", "touch /proc/1/nope 2>/dev/null"], capture_output=True)
        if probe.returncode != 0:
            return [unshare, "-U"]
    return None


def test_read_only_workspace_is_one_line_naming_the_path_and_exit_2(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws")
    assert cli("run", cwd=ws.root).returncode == 0  # a workspace that worked, then became read-only
    before = tree_digest(ws.root)
    prefix = _read_only_runner()
    if prefix is None:
        pytest.skip("running as root without user namespaces: file modes do not bind root, nothing to test")
    subprocess.run(["chmod", "-R", "a-w", str(ws.root)], check=True)
    try:
        done = subprocess.run(
            [*prefix, *CLI, "run"], cwd=ws.root, capture_output=True, text=True, timeout=60, env=os.environ
        )
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(ws.root)], check=True)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = error_lines(done.stderr)
    assert "Permission denied" in line and (".paddle_port" in line or "result" in line), line
    assert tree_digest(ws.root) == before  # nothing half-written, nothing lost


def test_a_file_where_the_state_folder_belongs_is_one_line_and_exit_2(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws")
    (ws.root / ".paddle_port").write_text("not a folder")
    error = assert_sound(run_cli(ws.root, "run"), EXIT_ERROR)
    assert error == f"{ws.root / '.paddle_port' / 'state.json'}: Not a directory"
    as_json = run_cli(ws.root, "run", "--json")  # a machine reading stdout still gets a document
    assert_sound(as_json, EXIT_ERROR)
    assert as_json.document()["passed"] is False


def test_a_file_where_the_result_folder_belongs_is_an_error_never_a_failed_comparison(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws")
    (ws.root / "result").write_text("not a folder")
    outcome = run_cli(ws.root, "run", "forward", step="forward")
    assert_sound(outcome, EXIT_ERROR, ["result/forward.json", "Not a directory"])
    assert "result/forward.json" in outcome.stdout and "Not a directory" in outcome.stdout
    assert json.loads(ws.state_path.read_text())["steps"]["forward"]["status"] == "error"


# --- NO_COLOR and TERM=dumb: no escape codes, even on a terminal ----------------------------------------


def on_a_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """Run with stdout and stderr on a pseudo-terminal (where colour would be used) and collect both."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=10), output


@pytest.fixture
def quick_doctor_workspace(tmp_path: Path) -> Path:
    """A fake workspace whose check interpreter has no frameworks, so `doctor` answers in a second."""
    ws = write_fake_workspace(tmp_path / "ws")
    assert cli("run", "forward", cwd=ws.root).returncode == 0  # a result for the report to show
    system_python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    (ws.root / "paddle_port.toml").write_text(FAKE_CONFIG + f'python = "{system_python}"\n')
    return ws.root


PLAIN_ENVIRONMENTS = {"NO_COLOR": {"NO_COLOR": "1", "TERM": "xterm-256color"}, "TERM=dumb": {"TERM": "dumb"}}


@pytest.mark.parametrize("argv", [["run", "--help"], ["doctor"], ["report", "--format", "md", "-o", "-"]])
@pytest.mark.parametrize("plain", PLAIN_ENVIRONMENTS)
def test_no_color_and_dumb_terminals_get_no_escape_codes(quick_doctor_workspace, argv, plain):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM")}
    code, output = on_a_terminal(argv, quick_doctor_workspace, {**env, **PLAIN_ENVIRONMENTS[plain]})
    assert code in (0, 1), output.decode(errors="replace")  # doctor: 1 = frameworks not found, as it should
    assert b"Traceback" not in output
    assert output.strip(), "nothing printed"
    assert b"\x1b" not in output, output[:400]


def test_a_colour_terminal_does_get_escape_codes(quick_doctor_workspace):
    """The control of the test above: on the same terminal without NO_COLOR, doctor is coloured."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    _, output = on_a_terminal(["doctor"], quick_doctor_workspace, {**env, "TERM": "xterm-256color"})
    assert b"\x1b[" in output


# --- paddle-port serve --------------------------------------------------------------------------------


def test_serve_help_is_fast_and_imports_no_server_no_ui():
    probe = (
        "import sys\nfrom paddle_port_tui.cli import main\ntry:\n    main(['serve', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('textual_serve', 'aiohttp', 'textual', 'rich.console') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "usage: paddle-port serve" in done.stdout and "ssh -L 8000:localhost:8000" in done.stdout
    assert "HEAVY []" in done.stderr
    assert elapsed < 5, f"serve --help took {elapsed:.1f}s"


def test_serve_without_textual_serve_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # import textual_serve -> ImportError
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == 'paddle-port: error: paddle-port serve needs textual-serve: pip install "paddle-port[serve]"\n'


def test_serve_on_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"paddle-port: error: {tmp_path / 'nowhere'} is not a folder\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every wizard it started (its own process group), then wait for them."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@pytest.mark.skipif(not HAS_TEXTUAL_SERVE, reason='textual-serve not installed (pip install "paddle-port[serve]")')
def test_serve_answers_a_browser_with_the_wizard_on_localhost(tmp_path):
    ws = write_fake_workspace(tmp_path / "ws")
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", str(ws.root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        page = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    assert answer.status == 200 and answer.headers.get_content_type() == "text/html"
                    page = answer.read()
            except OSError:
                assert server.poll() is None, "the server exited"
                time.sleep(0.2)
        assert b"<html" in page.lower()
        # The page points the browser at the tunnel's end, localhost at the same port.
        assert f'data-session-websocket-url="ws://localhost:{port}/ws"'.encode() in page
        assert "forward" in wizard_screen(port), "the served wizard did not show the step list"
    finally:
        stop_group(server)
    with pytest.raises(ProcessLookupError):  # no wizard left behind
        os.killpg(server.pid, 0)


def wizard_screen(port: int) -> str:
    """What the served wizard draws for a browser of 100x30, read through textual-serve's websocket."""
    import asyncio

    import aiohttp

    async def read() -> str:
        drawn = b""
        async with aiohttp.ClientSession() as session, session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
            deadline = time.monotonic() + 30
            while b"forward" not in drawn and time.monotonic() < deadline:
                try:
                    message = await ws.receive(timeout=5)
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    drawn += message.data
                elif message.type == aiohttp.WSMsgType.TEXT:
                    drawn += message.data.encode()
                else:
                    break
        return drawn.decode(errors="replace")

    return asyncio.run(read())


@pytest.mark.skipif(not HAS_TEXTUAL_SERVE, reason='textual-serve not installed (pip install "paddle-port[serve]")')
def test_serve_on_a_taken_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", str(tmp_path), "--port", str(port), timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = error_lines(done.stderr)
    assert line.startswith(f"paddle-port: error: cannot listen on 127.0.0.1:{port}:") and "in use" in line
