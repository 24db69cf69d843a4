"""What ran, when, on which device, with which outcome: `.paddle_port/state.json` in the workspace.

Saved when a run starts and when it ends, always atomically, so a dropped SSH session or a killed app
resumes exactly where it stopped. A file that cannot be read is moved aside (never silently lost) and
the porter starts from a fresh state.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paddle_port_checks.atomic import write_json_atomic
from paddle_port_checks.catalogue import STEPS

from .workspace import Workspace, file_hash

STATE_SCHEMA = 1
STATUSES = ("pending", "running", "passed", "failed", "error", "cancelled")
# Statuses that describe a finished run of a particular script and config, and so can go stale.
COMPLETED = ("passed", "failed", "error")
INTERRUPTED = "the check's process{pid} ended without writing a result"


class CorruptState(ValueError):
    """The state file exists but does not hold a state this version can read."""


@dataclass
class StepState:
    """One step's last run. Paths are relative to the workspace root; times are ISO-8601 UTC."""

    status: str = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    device: str | None = None
    exit_code: int | None = None
    log_path: str | None = None
    result_path: str | None = None
    script_hash: str | None = None
    config_hash: str | None = None
    error: str | None = None
    # The check's process id while it runs, and its run host's (the detached process that follows it and
    # records its verdict): a restarted app tells a live run from an abandoned one by them.
    pid: int | None = None
    host_pid: int | None = None  # added within schema 1
    # The run this record belongs to (the runner's run id, also in `.paddle_port/run.lock` while it runs):
    # which run a record came from, when two were started on one workspace. Added within schema 1.
    run_id: str | None = None
    started_ns: int | None = None  # time.time_ns() at the start: orders two runs started within a second
    # When the step last passed before this run (that run's finished_at): history a failed, errored or
    # cancelled run shows beside its own verdict ("last passed 12-01 06:52"), never in place of it. Added
    # within schema 1: a file written before it reads as None.
    last_passed_at: str | None = None

    def last_pass(self) -> str | None:
        """When the step last passed, this run included: what the next run carries as `last_passed_at`."""
        return (self.finished_at or self.started_at) if self.status == "passed" else self.last_passed_at


def _fresh_steps() -> dict[str, StepState]:
    return {step.id: StepState() for step in STEPS}


@dataclass
class State:
    """The whole workspace state. `warnings` are for the porter and are not saved."""

    steps: dict[str, StepState] = field(default_factory=_fresh_steps)
    generated: dict[str, str] = field(default_factory=dict)  # script path (relative) -> sha256 last written
    current_step: str = STEPS[0].id
    device: str = ""  # the device picked in the app; "" = the config's [run] device
    warnings: list[str] = field(default_factory=list)

    def step(self, step_id: str) -> StepState:
        """The state of a step, created pending on first use (steps added in later versions included)."""
        return self.steps.setdefault(step_id, StepState())

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "current_step": self.current_step,
            "device": self.device,
            "generated": dict(self.generated),
            "steps": {step_id: asdict(step_state) for step_id, step_state in self.steps.items()},
        }


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_state(ws: Workspace) -> State:
    """The saved state, or a fresh one when there is none; a corrupt file is moved aside with a warning."""
    try:
        text = ws.state_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State()
    try:
        state = _parse_state(text)
    except (CorruptState, UnicodeDecodeError, json.JSONDecodeError) as problem:
        aside = _move_aside(ws)
        state = State()
        state.warnings.append(
            f"{ws.relative(ws.state_path)} could not be read ({problem}); it was moved to "
            f"{ws.relative(aside)} and the state starts fresh"
        )
        return state
    settle_abandoned_runs(ws, state)
    return state


def save_state(ws: Workspace, state: State, steps_only: bool = False) -> None:
    """Write the state atomically (a reader or a crash never sees half a file), merged with what another
    process saved meanwhile: the wizard in one SSH window and `paddle-port run` in another both keep their
    runs. Per step the most recently started run wins; `state` is updated in place with the merge. A run
    host owns only its steps' records (`steps_only`): the device, the page shown and the script hashes are
    the faces', and its copy of them, loaded when it started, is older than theirs."""
    ws.state_path.parent.mkdir(parents=True, exist_ok=True)
    with open(ws.state_path.with_name("state.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge_saved(ws, state, theirs_first=steps_only, settings_too=steps_only)
        write_json_atomic(ws.state_path, state.to_json())


def refresh_state(ws: Workspace, state: State) -> None:
    """Take in, in place, what another run saved since `state` was loaded (a run that waited for the
    workspace's lock starts from the other run's records and generated hashes, not from older ones)."""
    if not ws.state_path.exists():
        return
    with open(ws.state_path.with_name("state.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge_saved(ws, state, theirs_first=True)


def _merge_saved(ws: Workspace, state: State, theirs_first: bool, settings_too: bool = False) -> None:
    """Per step the most recently started run wins; of the generated hashes, ours unless `theirs_first`;
    with `settings_too`, the device and current step on disk replace ours."""
    try:
        on_disk = _parse_state(ws.state_path.read_text(encoding="utf-8"))
    except (OSError, CorruptState, UnicodeDecodeError, json.JSONDecodeError):
        return
    if settings_too:
        state.device, state.current_step = on_disk.device, on_disk.current_step
    for step_id, theirs in on_disk.steps.items():
        ours = state.steps.get(step_id)
        if ours is None or _newer(theirs, ours):
            state.steps[step_id] = theirs
    if theirs_first:
        state.generated = {**state.generated, **on_disk.generated}
    else:
        state.generated = {**on_disk.generated, **state.generated}


def _newer(theirs: StepState, ours: StepState) -> bool:
    """Whether the record on disk is later news than ours: a later run, or the same run further along
    (its host recorded the verdict while this copy still says running)."""
    if theirs.run_id is not None and theirs.run_id == ours.run_id:
        return ours.status == "running" and theirs.status != "running"
    # started_at has whole seconds: two runs started within one are told apart by the nanosecond clock.
    return (theirs.started_at or "", theirs.started_ns or 0) > (ours.started_at or "", ours.started_ns or 0)


def display_status(ws: Workspace, state: State, step_id: str) -> str:
    """The stored status, or `stale` when the script or the config changed since that run."""
    step_state = state.steps.get(step_id)
    if step_state is None:
        return "pending"
    if step_state.status in COMPLETED and (
        step_state.script_hash != file_hash(ws.script_path(step_id)) or step_state.config_hash != ws.config_hash()
    ):
        return "stale"
    return step_state.status


def _parse_state(text: str) -> State:
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise CorruptState("not a JSON object")
    if raw.get("schema", STATE_SCHEMA) != STATE_SCHEMA:
        raise CorruptState(f"unknown schema {raw.get('schema')!r}")
    steps_raw, generated = raw.get("steps", {}), raw.get("generated", {})
    if not isinstance(steps_raw, dict) or not isinstance(generated, dict):
        raise CorruptState("'steps' and 'generated' must be objects")
    if not all(isinstance(key, str) and isinstance(value, str) for key, value in generated.items()):
        raise CorruptState("'generated' must map paths to hashes")
    state = State(
        generated=generated,
        current_step=_typed(raw, "current_step", str, STEPS[0].id),
        device=_typed(raw, "device", str, ""),
    )
    for step_id, step_raw in steps_raw.items():
        state.steps[step_id] = _parse_step(step_id, step_raw)
    return state


def _parse_step(step_id: str, raw: Any) -> StepState:
    if not isinstance(raw, dict):
        raise CorruptState(f"step {step_id!r} is not an object")
    known = {item.name for item in fields(StepState)}
    step_state = StepState(**{key: value for key, value in raw.items() if key in known})
    if step_state.status not in STATUSES:
        raise CorruptState(f"step {step_id!r} has unknown status {step_state.status!r}")
    return step_state


def _typed(raw: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = raw.get(key, default)
    if not isinstance(value, kind):
        raise CorruptState(f"{key!r} must be {kind.__name__}")
    return value


def _move_aside(ws: Workspace) -> Path:
    """Rename the unreadable file to the first free `state.json.corrupt-<n>` (kept for inspection)."""
    n = 1
    while (aside := ws.state_path.with_name(f"{ws.state_path.name}.corrupt-{n}")).exists():
        n += 1
    os.replace(ws.state_path, aside)
    return aside


def settle_abandoned_runs(ws: Workspace, state: State) -> None:
    """A step saved as `running` whose process is gone belonged to an app that was killed.

    The check runs in its own session, so it may well have finished after the app died: adopt its
    result when the JSON was written after the run started, else call the run interrupted.
    """
    for step_id, step_state in state.steps.items():
        if step_state.status != "running" or run_alive(step_state):
            continue
        result = _result_written_since(ws, step_id, step_state.started_at)
        if result is not None and result.get("status") in COMPLETED:
            step_state.status = result["status"]
            step_state.result_path = ws.relative(ws.result_path(step_id))
            step_state.error = result.get("error")
        else:
            step_state.status, step_state.error = "error", interrupted_reason(step_state.pid)
        step_state.pid = step_state.host_pid = None


def interrupted_reason(pid: int | None) -> str:
    """Why a run left `running` has no verdict, naming the process that was its check."""
    return INTERRUPTED.format(pid=f" (pid {pid})" if pid is not None else "")


def run_alive(step_state: StepState) -> bool:
    """Whether the step's run still goes on: its check or its run host still runs (a host between two
    workers, after a segfault, is about to start the next one and record this step's end)."""
    return any(process_alive(pid, step_state.started_at) for pid in (step_state.pid, step_state.host_pid))


def process_alive(pid: int | None, started_at: str | None) -> bool:
    """True when the pid still runs and was started no later than `started_at` (not a reused pid)."""
    if pid is None or started_at is None:
        return False
    import psutil  # here, not at the top: only a run left `running` needs it, and it costs every command

    try:
        process = psutil.Process(pid)
        started: float = process.create_time()
        # A zombie ran its course: its parent (the app) died before reaping it, and it wrote what it wrote.
        return started <= _timestamp(started_at) + 5.0 and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError):
        return False


def _result_written_since(ws: Workspace, step_id: str, started_at: str | None) -> dict[str, Any] | None:
    path = ws.result_path(step_id)
    try:
        if started_at is None or path.stat().st_mtime < _timestamp(started_at):
            return None
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _timestamp(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
