"""Fake check scripts and a fake workspace, for fast tests of the runner, the CLI and the wizard.

A fake script behaves like a generated one from the app's side (reprod_log-style lines on stdout,
events on PADDLE_PORT_EVENT_FD, `result/<step>.json` written atomically, exit code 0/1/2) but starts
in milliseconds and imports no framework. Usage:

    ws = write_fake_workspace(tmp_path, {"forward": "pass", "data": "fail", "metric": "crash"})
    ws = write_fake_workspace(tmp_path, {"forward": FakeCheck("pass", lines=100_000)})

Behaviours: pass, fail, error (result with status error, exit 2), crash (traceback, no result),
noresult (exit 0, no result), sleep (runs until killed), grandchild (spawns a grandchild in its own
session, prints `grandchild <pid>`, then sleeps until killed), orphan (the same grandchild, but the check
then passes and exits, leaving it behind with the output pipes open), segfault (prints `segfaulting`
and dies of SIGSEGV, taking its interpreter with it), gated (prints `waiting for gate`, waits until the
file `gate` exists in the workspace root, then passes: a run held open as long as a test needs).
`FakeCheck(..., pid=True)` also prints `pid <os.getpid()>` after its first line: the process it ran in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.workspace import Workspace

BEHAVIOURS = ("pass", "fail", "error", "crash", "noresult", "sleep", "grandchild", "orphan", "segfault", "gated")

FAKE_CONFIG = """\
[reference]
model = "fake_models:reference"

[paddle]
model = "fake_models:paddle"

[run]
device = "cpu"
"""

_SCRIPT = r'''"""Fake check for step {step!r}: behaviour {behaviour!r}, {lines} extra lines."""
import argparse, json, os, signal, subprocess, sys, time
from pathlib import Path

STEP, BEHAVIOUR, LINES, SHOW_PID = {step!r}, {behaviour!r}, {lines!r}, {pid!r}
ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cpu")
parser.add_argument("--fresh", action="store_true")
args, _ = parser.parse_known_args()  # the app also passes --run-id
fd = os.environ.get("PADDLE_PORT_EVENT_FD")
events = os.fdopen(int(fd), "w", buffering=1, closefd=False) if fd else None  # the worker runs more steps


def emit(event, **fields):
    if events is not None:
        events.write(json.dumps({{"schema": 1, "kind": event, "step": STEP, **fields}}) + "\n")


def write_result(status, keys, error=None):
    path = ROOT / "result" / (STEP + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {{"schema": 2, "step": STEP, "status": status, "keys": keys, "evidence": [], "log": None,
              "warnings": [], "details": {{}}, "error": error, "started_at": "2026-01-01T00:00:00Z",
              "duration_s": 0.0}}
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    emit("result", status=status, path=str(path))


def key(name, mean, threshold=1e-5):
    return {{"key": name, "mean": mean, "max": mean, "min": 0.0, "threshold": threshold, "method": "mean",
            "passed": mean <= threshold, "problem": None}}


emit("start", device=args.device)
print(f"fake check {{STEP}} device={{args.device}} fresh={{args.fresh}}", flush=True)
if SHOW_PID:
    print(f"pid {{os.getpid()}}", flush=True)
for n in range(LINES):
    print(f"line {{n}}")
emit("stage", name="reference", status="computed")
if BEHAVIOUR == "gated":
    print("waiting for gate", flush=True)
    while not (ROOT / "gate").exists():
        time.sleep(0.05)
if BEHAVIOUR == "crash":
    raise RuntimeError("the fake model exploded")
if BEHAVIOUR == "noresult":
    sys.exit(0)
if BEHAVIOUR == "segfault":
    print("segfaulting", flush=True)
    os.kill(os.getpid(), signal.SIGSEGV)
if BEHAVIOUR in ("grandchild", "orphan"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    print(f"grandchild {{child.pid}}", flush=True)
if BEHAVIOUR in ("sleep", "grandchild"):
    print("sleeping", flush=True)
    time.sleep(600)
if BEHAVIOUR == "error":
    write_result("error", [], error="fake setup error: the model factory is missing")
    sys.exit(2)
keys = [key("logits", 9.06e-08), key("features", 3e-2 if BEHAVIOUR == "fail" else 1e-7)]
for row in keys:
    emit("key", diff=row)
    print(f"{{row['key']}}: mean diff: check passed: {{row['passed']}}, value: {{row['mean']}}")
status = "passed" if all(row["passed"] for row in keys) else "failed"
print("diff check " + ("passed" if status == "passed" else "failed"), flush=True)
write_result(status, keys)
sys.exit(0 if status == "passed" else 1)
'''


@dataclass(frozen=True)
class FakeCheck:
    """How a fake script behaves: one of BEHAVIOURS, after printing `lines` numbered lines (and its pid)."""

    behaviour: str = "pass"
    lines: int = 0
    pid: bool = False

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown fake behaviour {self.behaviour!r}; expected one of {BEHAVIOURS}")


def fake_script(step_id: str, check: FakeCheck | str = "pass") -> str:
    """The source of a fake check script for one step."""
    check = FakeCheck(check) if isinstance(check, str) else check
    return _SCRIPT.format(step=step_id, behaviour=check.behaviour, lines=check.lines, pid=check.pid)


def write_fake_script(ws: Workspace, step_id: str, check: FakeCheck | str = "pass") -> Path:
    """(Re)write one step's script in the workspace; returns its path."""
    path = ws.script_path(step_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fake_script(step_id, check), encoding="utf-8")
    return path


def write_fake_workspace(
    root: Path, checks: Mapping[str, FakeCheck | str] | None = None, default: FakeCheck | str = "pass"
) -> Workspace:
    """A workspace with a valid config and a fake script for every step (`default` unless named)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "paddle_port.toml").write_text(FAKE_CONFIG, encoding="utf-8")
    ws = Workspace(root)
    for step in STEPS:
        write_fake_script(ws, step.id, (checks or {}).get(step.id, default))
    return ws
