"""The detached run host: the process that runs a run's steps, so the face that started it may go away.

`paddle-port run` and the wizard do not follow a check worker themselves. They take the steps' locks and
start this host in a session of its own (stdin from /dev/null, its own output to a file, never a
terminal or a pipe), handing it the lock descriptors. The host runs the steps with the runner
(`runner.StepsRun`: one worker, the output into the step logs, the verdicts into the state) and appends
all it hears to the run's feed (`run_feed`), which every face follows. A hangup, a dropped SSH session, a
face killed with -9: none of them reaches the host, and the check delivers its result. It stops for SIGTERM
and SIGINT only, which is what Ctrl-C in the CLI and cancel in the wizard send (an explicit intent); it
then kills the check's whole tree and records the steps as cancelled.

    python -m paddle_port_tui.run_host WORKSPACE --run-id ID --lock-fds 5,6 [--device D] [--fresh] STEP...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paddle_port_checks.atomic import write_json_atomic

from .run_feed import CANCEL_NAME, FEED_NAME, HOST_LOG_NAME, HOST_NAME, FeedWriter, prune_runs, run_dir
from .run_lock import RunLock
from .state import State, process_alive, run_alive, utc_now
from .workspace import Workspace

KEEP_RUNS = 20  # run folders kept (feeds repeat the logs: the newest runs are enough to look back on)


class RunHost:
    """A run host as a face knows it: the one it started (`process`) or one found on disk by its pid."""

    def __init__(self, pid: int, started_at: str, folder: Path, process: subprocess.Popen[bytes] | None = None) -> None:
        self.pid, self.started_at, self.folder, self.process = pid, started_at, folder, process

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None  # reaps it too: a face that lives on leaves no zombie
        return process_alive(self.pid, self.started_at)

    def cancel(self) -> None:
        """Ask the host to stop the run (it kills the check's tree and records the cancel). A host that has
        not written host.json yet has no handler for SIGTERM, which would kill it unrecorded: it finds the
        cancel file instead, which it reads after writing host.json (so one of the two always reaches it)."""
        with contextlib.suppress(OSError):
            (self.folder / CANCEL_NAME).touch()
        if (self.folder / HOST_NAME).exists() and self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGTERM)

    def reap(self, timeout_s: float = 5.0) -> None:
        """Wait for a host that said it was done (it closes its feed and exits at once): no zombie left."""
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout_s)


def launch(ws: Workspace, lock: RunLock, steps: Sequence[str], device: str, fresh: bool) -> RunHost:
    """Start the host of a run whose locks `lock` holds; it inherits them (close ours after this)."""
    folder = run_dir(ws, lock.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    prune_runs(ws, KEEP_RUNS, alive=lambda folder: (found := _recorded_host(folder)) is not None and found[0].alive())
    argv = [sys.executable, "-m", "paddle_port_tui.run_host", str(ws.root), "--run-id", lock.run_id]
    argv += ["--lock-fds", ",".join(str(fd) for fd in lock.fds)]
    if device:
        argv += ["--device", device]
    if fresh:
        argv.append("--fresh")
    started_at = utc_now()
    with open(folder / HOST_LOG_NAME, "ab") as log:
        process = subprocess.Popen(
            [*argv, *steps],
            cwd=ws.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no terminal, no hangup, no Ctrl-C of the face's process group
            pass_fds=tuple(lock.fds),
        )
    return RunHost(process.pid, started_at, folder, process)


def found_host(ws: Workspace, run_id: str) -> RunHost | None:
    """The host of a run started by another face (the wizard reopened, `paddle-port status`), if recorded."""
    found = _recorded_host(run_dir(ws, run_id))
    return found[0] if found is not None else None


def _recorded_host(folder: Path) -> tuple[RunHost, dict[str, Any]] | None:
    """The host a run folder's host.json names, with that record (read once)."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads((folder / HOST_NAME).read_text(encoding="utf-8"))
        if isinstance(record, dict) and isinstance(record.get("pid"), int):
            return RunHost(record["pid"], str(record.get("started_at", "")), folder), record
    return None


@dataclass(frozen=True)
class RunningRun:
    """A run that goes on without a face: what a reopened wizard or `paddle-port status` attaches to."""

    run_id: str
    host: RunHost
    steps: list[str]  # every step of the run, in order (those already finished included)
    device: str


def running_runs(ws: Workspace) -> list[RunningRun]:
    """The runs whose host still lives, oldest first: found by their folders, so a run between two steps
    (its worker starting, or restarting after a segfault) is found as well as one in a step."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for folder in (ws.state_dir / "runs").iterdir():
            recorded = _recorded_host(folder)
            if recorded is None or not recorded[0].alive():
                continue
            host, record = recorded
            steps = [str(step) for step in record.get("steps") or []]
            found.append(RunningRun(folder.name, host, steps, str(record.get("device") or "")))
    return sorted(found, key=lambda run: run.host.started_at)


def orphaned_checks(state: State, runs: Sequence[RunningRun]) -> list[tuple[str, int]]:
    """(step, check pid) of checks still running whose host is gone (killed with -9): nobody records their
    end, and they hold their steps' locks; `paddle-port cancel` stops them. `runs`: the running runs."""
    hosts = {run.run_id for run in runs}
    return [
        (step_id, record.pid)
        for step_id, record in state.steps.items()
        if record.status == "running" and record.run_id not in hosts and record.pid is not None and run_alive(record)
    ]


def main(argv: list[str] | None = None) -> int:
    # First of all: the face held SIGINT and SIGTERM back while it started us (the mask is inherited), and
    # until host.json is written a cancel comes as a file, not a signal (RunHost.cancel).
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # belt and braces: a session of its own gets none anyway
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    parser = argparse.ArgumentParser(prog="paddle_port_tui.run_host", description=__doc__)
    parser.add_argument("workspace")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--lock-fds", default="", help="the steps' lock descriptors, in the order of the steps")
    parser.add_argument("--device", default="")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("steps", nargs="+")
    args = parser.parse_args(argv)

    from .runner import StepsRun

    ws = Workspace(args.workspace)
    fds = [int(fd) for fd in args.lock_fds.split(",") if fd]
    lock = RunLock.inherited(ws, args.run_id, args.steps, fds)
    folder = run_dir(ws, args.run_id)
    lock.note(pid=os.getpid(), started_at=utc_now())
    feed = FeedWriter(folder / FEED_NAME)
    run = StepsRun(ws, args.steps, args.device, fresh=args.fresh, listener=feed, lock=lock)
    record = {"pid": os.getpid(), "run_id": args.run_id, "steps": args.steps, "device": args.device}
    write_json_atomic(folder / HOST_NAME, {**record, "started_at": utc_now()})
    if (folder / CANCEL_NAME).exists():  # a cancel that came before host.json: see RunHost.cancel
        stop.set()
    failure: list[BaseException] = []

    def drive() -> None:
        try:
            run.run()
        except BaseException as error:  # recorded by the runner as cancelled; said in host.log
            failure.append(error)

    # The signal handler only sets `stop`; this (main) thread, which holds no lock of the runner's, passes
    # it on: the runner's cancel() takes a lock the driving thread may hold.
    driver = threading.Thread(target=drive, name="run")
    driver.start()
    while driver.is_alive():
        if stop.wait(timeout=0.2):
            run.cancel()
            stop.clear()
        driver.join(timeout=0.0)
    try:
        feed.done()
    finally:
        feed.close()
        lock.release()
    for error in failure:
        traceback.print_exception(error)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
