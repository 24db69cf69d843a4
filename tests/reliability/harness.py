"""The reliability suite's verdict: every fault case's outcome is classified into exactly one of

- `OK`: the contract held;
- `crash`: a Python traceback (or "Exception ignored") where a one-line error belongs, or a process left
  running in the workspace after the command returned;
- `loss`: a file of the porter's changed or vanished (every file outside `result/`, `.paddle_port/`,
  `test_tipc/`, by sha256), or `.paddle_port/state.json` left unreadable or with a step still `running`;
- `wrong`: the exit code breaks the CLI contract (0 passed, 1 a comparison failed, 2 could not run, 130
  interrupted), a `--json` run's stdout is not one JSON document, or a stale verdict (a step that failed
  or errored still reads `passed` in the state or its result);
- `unclear`: the error is not one line naming what it should (the file, key, tensor or line).

Each case builds an `Outcome` (`run_cli`, `run_check`, or by hand) and calls `assert_sound`, which records
the case's verdict for the summary line (`conftest.py`) and then asserts it is `OK`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

VERDICTS = ("OK", "unclear", "wrong", "loss", "crash")  # in rising gravity: a case keeps its gravest
EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
CLI = [sys.executable, "-m", "paddle_port_tui"]
CLI_ERROR = "paddle-port: error: "
TOOL_FOLDERS = frozenset({"result", ".paddle_port", "test_tipc", "__pycache__"})
TRACEBACK_MARKS = ("Traceback (most recent call last)", "Exception ignored")

RECORDED: dict[str, str] = {}  # test node id -> its gravest verdict


@dataclass
class Outcome:
    """What one command did to a workspace holding a fault."""

    workspace: Path
    before: dict[str, str]  # porters_files(workspace) with the fault in place, before the command
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    errors: list[str] = field(default_factory=list)  # the error messages it gave (CLI lines, a step's error)
    step: str | None = None  # the step that ran: its recorded verdict must not be a stale `passed`
    json_output: bool = False  # `--json`: stdout must be one JSON document

    def document(self) -> Any:
        return json.loads(self.stdout)


# --- what the harness observes ---------------------------------------------------------------------------


def porters_files(workspace: Path) -> dict[str, str]:
    """Every file of the porter's by content: what paddle-port writes (results, state, scripts) left out."""
    return {
        path.relative_to(workspace).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(workspace.rglob("*"))
        if path.is_file() and not TOOL_FOLDERS & set(path.relative_to(workspace).parts)
    }


def processes_in(workspace: Path) -> list[int]:
    """Processes still working in the workspace (a worker or check the command left behind): their working
    folder or their command line points into it."""
    import psutil

    inside = str(workspace)
    left = []
    for process in psutil.process_iter(["pid", "cwd", "cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            cwd, cmdline = process.info["cwd"] or "", process.info["cmdline"] or []
        except psutil.Error:
            continue
        if Path(cwd) == workspace or cwd.startswith(inside + os.sep) or any(inside in part for part in cmdline):
            left.append(process.pid)
    return left


def orphans_after(workspace: Path, grace_s: float = 5.0) -> list[int]:
    """The processes left in the workspace once a command has returned (a tree being torn down gets a grace)."""
    deadline = time.monotonic() + grace_s
    while (left := processes_in(workspace)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def run_cli(
    workspace: Path, *argv: str, env: dict[str, str] | None = None, step: str | None = None, timeout: float = 120
) -> Outcome:
    """`paddle-port ARGV` in the workspace, as a porter runs it. Its errors: the `paddle-port: error:` lines,
    else (a step that ran and errored) the step's error in `result/<step>.json`."""
    before = porters_files(workspace)
    done = subprocess.run(
        [*CLI, *argv],
        cwd=workspace,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    errors = [line.removeprefix(CLI_ERROR) for line in done.stderr.splitlines() if line.startswith(CLI_ERROR)]
    if not errors and step is not None and (error := _step_error(workspace, step)):
        errors = [error]
    return Outcome(workspace, before, done.returncode, done.stdout, done.stderr, errors, step, "--json" in argv)


def run_check(workspace: Path, step: str, capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """One real check run in this process (the frameworks imported once per session): its exit code, output
    and the error of its result."""
    from workspaces import run_step

    before = porters_files(workspace)
    capsys.readouterr()  # what the test printed before is not the check's
    code, result = run_step(workspace, step, None, *args)
    out = capsys.readouterr()
    return Outcome(workspace, before, code, out.out, out.err, [result["error"]] if result["error"] else [], step)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _step_error(workspace: Path, step: str) -> str | None:
    """The step's error as the app recorded it (its state), else as the check wrote it (its result)."""
    for record in (
        ((_read_json(workspace / ".paddle_port" / "state.json") or {}).get("steps") or {}).get(step),
        _read_json(workspace / "result" / f"{step}.json"),
    ):
        if record is not None:
            return record.get("error")
    return None


# --- the verdict -----------------------------------------------------------------------------------------


def diagnose(outcome: Outcome, exit_code: int, names: Iterable[str] = (), one_line: bool = True) -> tuple[str, str]:
    """(verdict, why) of an outcome, against the exit code the case expects and what its one error line must
    name (`exit_code` 0 or 1, a verdict: no error at all). `one_line=False` where the check's own output (a
    porter's traceback) is kept under the error's first line on purpose."""
    names = tuple(names)
    shown = (outcome.stderr if outcome.json_output else outcome.stdout + outcome.stderr).replace("\r", "")
    if one_line and (mark := next((m for m in TRACEBACK_MARKS if m in shown), None)):
        return "crash", f"{mark!r} in the output:\n{shown[-2000:]}"
    if left := orphans_after(outcome.workspace):
        return "crash", f"processes left in the workspace after the command returned: {left}"

    after = porters_files(outcome.workspace)
    changed = sorted(name for name in outcome.before if after.get(name) != outcome.before[name])
    if changed:
        return "loss", f"porter's files changed or vanished: {changed}"
    state_path = outcome.workspace / ".paddle_port" / "state.json"
    state: dict[str, Any] = {}
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text())
        except ValueError as error:
            return "loss", f"{state_path} is not valid JSON ({error})"
        running = [name for name, step in state.get("steps", {}).items() if step.get("status") == "running"]
        if running:
            return "loss", f"the state still says running for {running} after the command returned"

    if outcome.exit_code != exit_code:
        return "wrong", f"exit code {outcome.exit_code}, the contract says {exit_code}\n{outcome.stderr[-2000:]}"
    if outcome.json_output:
        try:
            outcome.document()
        except ValueError as error:
            return "wrong", f"--json printed no single JSON document ({error}):\n{outcome.stdout[:2000]}"
    if exit_code != EXIT_PASSED and outcome.step is not None and (stale := _stale_pass(outcome, state)):
        return "wrong", f"stale verdict: {stale} still says {outcome.step} passed"

    if exit_code in (EXIT_PASSED, EXIT_FAILED):  # a verdict, told by the keys: no error belongs beside it
        return ("OK", "") if not outcome.errors else ("wrong", f"a verdict with errors: {outcome.errors}")
    if len(outcome.errors) != 1:
        return "unclear", f"{len(outcome.errors)} error messages, one expected: {outcome.errors}\n{outcome.stderr}"
    (error,) = outcome.errors
    if one_line and "\n" in error:
        return "unclear", f"the error is not one line:\n{error}"
    missing = [name for name in names if name not in error]
    if missing:
        return "unclear", f"the error does not name {missing}: {error}"
    return "OK", ""


def _stale_pass(outcome: Outcome, state: dict[str, Any]) -> str:
    """Where a step that did not pass still reads `passed`: its record in the state, or the result that record
    points at (a record without a result, after a crash, leaves an older result file as history); without
    the app's state (a check run on its own), `result/<step>.json`."""
    assert outcome.step is not None
    record = state.get("steps", {}).get(outcome.step)
    if record is not None and record.get("status") == "passed":
        return "the state"
    if record is None or record.get("result_path"):
        result_path = (record or {}).get("result_path") or f"result/{outcome.step}.json"
        if ((_read_json(outcome.workspace / result_path) or {}).get("status")) == "passed":
            return result_path
    return ""


def verdict_of(outcome: Outcome, exit_code: int, names: Iterable[str] = (), one_line: bool = True) -> str:
    return diagnose(outcome, exit_code, names, one_line)[0]


def assert_sound(outcome: Outcome, exit_code: int, names: Iterable[str] = (), one_line: bool = True) -> str:
    """Record the case's verdict (its gravest, when a case checks more than one outcome), then assert it is
    OK. Returns the error line, for the case's own further assertions."""
    verdict, why = diagnose(outcome, exit_code, names, one_line)
    case = os.environ.get("PYTEST_CURRENT_TEST", "outside pytest").rsplit(" (", 1)[0]
    previous = RECORDED.get(case, "OK")
    RECORDED[case] = max(previous, verdict, key=VERDICTS.index)
    assert verdict == "OK", f"{verdict}: {why}"
    return outcome.errors[0] if outcome.errors else ""


def summary_line() -> str:
    counts = Counter(RECORDED.values())
    tally = ", ".join(f"{verdict} {counts[verdict]}" for verdict in VERDICTS)
    return f"reliability: {len(RECORDED)} cases — {tally}"
