"""What the porter (or a script) reads back when a run goes wrong (issue 11 item 7): `run --json` stays one
JSON document whatever the failure, with the contract's exit code and no stale verdict; a plain terminal
gets no escape codes from a run; the wizard survives a terminal shrunk to 40x12 and 200 random keys during a
run and leaves a valid state. Fake checks: fast, framework-free."""

from __future__ import annotations

import asyncio
import json
import os
import random
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from fake_checks import FakeCheck, write_fake_script, write_fake_workspace
from harness import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, Outcome, assert_sound, porters_files, run_cli
from test_app_faults import PLAIN_ENVIRONMENTS, on_a_terminal
from textual.pilot import Pilot

from paddle_port_tui.workspace import Workspace

# --- run --json: one document for each failure class -------------------------------------------------------

# behaviour of the fake forward check -> (exit code, status in the document, what its error names)
STEP_FAILURES = {
    "failed comparison": ("fail", EXIT_FAILED, "failed", []),
    "step error": ("error", EXIT_ERROR, "error", ["the model factory is missing"]),
    "check crashed without a result": ("crash", EXIT_ERROR, "error", ["without writing result/forward.json"]),
    "check exited 0 without a result": ("noresult", EXIT_ERROR, "error", ["without writing result/forward.json"]),
    "check killed by SIGSEGV": ("segfault", EXIT_ERROR, "error", ["SIGSEGV", "without writing result/forward.json"]),
}


@pytest.mark.parametrize("failure", STEP_FAILURES)
def test_run_json_is_one_document_for_every_step_failure_and_no_stale_pass(tmp_path: Path, failure: str) -> None:
    behaviour, code, status, names = STEP_FAILURES[failure]
    ws = write_fake_workspace(tmp_path / "ws")
    assert_sound(run_cli(ws.root, "run", "forward", "--json", step="forward"), EXIT_PASSED)  # a pass, then:
    write_fake_script(ws, "forward", behaviour)
    outcome = run_cli(ws.root, "run", "forward", "--json", step="forward")
    # The check's own output (a crash's traceback) is kept under the error's first line, on purpose.
    assert_sound(outcome, code, names, one_line=False)
    document = outcome.document()
    (step,) = document["steps"]
    assert (document["passed"], step["id"], step["status"]) == (False, "forward", status)
    if outcome.errors:
        assert outcome.errors[0].splitlines()[0] == step["error"].splitlines()[0]


COMMAND_FAILURES = {
    "bad config": (["run", "forward", "--json"], ["[run.device]"]),
    "unknown step": (["run", "bogus", "--json"], ["unknown step 'bogus'"]),
    "bad --device": (["run", "forward", "--device", "tpu", "--json"], ["--device"]),
}


@pytest.mark.parametrize("failure", COMMAND_FAILURES)
def test_run_json_is_one_document_when_the_run_cannot_start(tmp_path: Path, failure: str) -> None:
    argv, names = COMMAND_FAILURES[failure]
    ws = write_fake_workspace(tmp_path / "ws")
    if failure == "bad config":
        ws.config_path.write_text(ws.config_path.read_text().replace('device = "cpu"', 'device = "tpu"'))
    outcome = run_cli(ws.root, *argv)
    error = assert_sound(outcome, EXIT_ERROR, names)
    assert outcome.document() == {"passed": False, "error": error, "steps": []}


# --- a run on a plain terminal ----------------------------------------------------------------------------------


@pytest.mark.parametrize("plain", PLAIN_ENVIRONMENTS)
def test_a_run_on_a_plain_terminal_prints_no_escape_codes(tmp_path: Path, plain: str) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    before = porters_files(ws.root)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM")}
    code, output = on_a_terminal(["run", "forward"], ws.root, {**env, **PLAIN_ENVIRONMENTS[plain]})
    text = output.decode(errors="replace")
    assert_sound(Outcome(ws.root, before, code, stdout=text, step="forward"), EXIT_PASSED)
    assert "forward" in text and "passed" in text, text[:400]
    assert b"\x1b" not in output, output[:400]


# --- the wizard: a tiny terminal, a cat on the keyboard ------------------------------------------------------

# Keys a porter may hit anywhere, with the character a terminal sends; never the editor (e), generate (g, y: it
# would replace the fake scripts), exports (x, p) nor quit: the wizard must stay up for the run to end in it.
RANDOM_KEYS: dict[str, str | None] = {
    **{letter: letter for letter in "racsdln12345?"},
    **{"enter": "\r", "tab": "\t", "escape": "\x1b", "space": " "},
    **dict.fromkeys(("up", "down", "left", "right", "shift+tab", "f1")),
}


async def type_like_a_cat(pilot: Pilot, keys: list[str], burst: int = 10) -> None:
    """The keys in bursts, as fast as a terminal delivers them (Pilot.press waits for idle after each key)."""
    from textual import events

    for start in range(0, len(keys), burst):
        for key in keys[start : start + burst]:
            pilot.app.post_message(events.Key(key, RANDOM_KEYS[key]))
        await pilot.pause()


def drive_wizard(ws: Workspace, script: Callable[[Pilot], Awaitable[None]]) -> Outcome:
    """Run the wizard on the workspace with `script(pilot)`; an exception in it or the app is a crash."""
    from paddle_port_tui.tui.app import PaddlePortApp

    before = porters_files(ws.root)

    async def session() -> None:
        app = PaddlePortApp(ws, devices=["cpu", "gpu:0"])
        async with app.run_test(size=(100, 30)) as pilot:
            await script(pilot)
            (ws.root / "gate").touch()  # let a gated check finish
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)

    try:
        asyncio.run(asyncio.wait_for(session(), timeout=60))
    except Exception:
        return Outcome(ws.root, before, EXIT_ERROR, stderr=traceback.format_exc())
    finally:
        (ws.root / "gate").unlink(missing_ok=True)
    return Outcome(ws.root, before, EXIT_PASSED)


async def until_waiting(pilot: Pilot) -> None:
    """Start a run of the gated forward check and wait until it is inside the check."""
    from textual.widgets import RichLog

    await pilot.press("r")
    for _ in range(400):
        log = pilot.app.screen.page("forward").query_one(RichLog)
        if any("waiting for gate" in line.text for line in log.lines):
            return
        await pilot.pause(0.05)
    raise AssertionError("the gated check never started")


def test_the_wizard_survives_a_40x12_terminal_during_a_run(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("gated")})

    async def shrink_and_grow(pilot: Pilot) -> None:
        await until_waiting(pilot)
        for width, height in ((40, 12), (100, 30), (40, 12), (120, 40)):
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.1)

    assert_sound(drive_wizard(ws, shrink_and_grow), EXIT_PASSED)
    assert json.loads(ws.state_path.read_text())["steps"]["forward"]["status"] == "passed"


def test_200_random_keys_during_a_run_leave_a_valid_state(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws", {"forward": FakeCheck("gated")})
    keys = random.Random(20261201).choices(list(RANDOM_KEYS), k=200)

    async def mash(pilot: Pilot) -> None:
        await until_waiting(pilot)
        await pilot.resize_terminal(40, 12)
        await type_like_a_cat(pilot, keys)

    assert_sound(drive_wizard(ws, mash), EXIT_PASSED)
    statuses = {step["status"] for step in json.loads(ws.state_path.read_text())["steps"].values()}
    assert statuses <= {"pending", "passed", "cancelled"}, statuses
