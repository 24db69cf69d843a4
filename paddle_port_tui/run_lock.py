"""One run per step per workspace at a time: `.paddle_port/locks/<step>.lock`, held with `flock`.

Two runs of one step would interleave their records, their logs and their evidence (a report saying
"passed" beside a failed key). Runs of different steps may go side by side (the wizard runs forward while
data runs); a run takes the locks of all its steps, in flow order, so two runs never wait for each other
in a circle. The locks are taken by the face that starts the run (so it can say whose run it waits for)
and inherited by the detached run host and its check worker: an flock belongs to the open file
description, so the run keeps its locks when the face is gone (a dropped SSH session, kill -9), and the
kernel releases them when the last holder is gone. A lock file left by a dead holder is therefore
harmless; it is never deleted (deleting races with a taker).

Each lock file holds its holder's JSON ({pid, run_id, started_at, steps, worker_pid}), written after
locking, so a run that finds a step busy can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .state import utc_now
from .workspace import Workspace

POLL_S = 0.2  # how often a waiting run tries again (an flock cannot be waited for with a timeout)
LOCKS_DIR = "locks"


class WorkspaceBusy(Exception):
    """Another run holds a step; the message names it in one line."""


def lock_path(ws: Workspace, step_id: str) -> Path:
    return ws.state_dir / LOCKS_DIR / f"{step_id}.lock"


class RunLock:
    """The locks of one run's steps. `fds` are what the host and the worker inherit to keep holding them."""

    def __init__(self, ws: Workspace, run_id: str, steps: Sequence[str]) -> None:
        self.ws = ws
        self.run_id = run_id
        self.steps = list(steps)
        self.fds: list[int] = []
        self._holder: dict[str, Any] = {}

    @property
    def held(self) -> bool:
        return bool(self.fds)

    def take(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take every step's lock. When another run holds one: without `on_wait`, WorkspaceBusy naming that
        run (and nothing is held); with it, `on_wait` hears that line once and this waits (Ctrl+C interrupts)."""
        told = False
        try:
            for step_id in self.steps:
                path = lock_path(self.ws, step_id)
                while (fd := _try_lock(path)) is None:
                    if on_wait is None:
                        raise WorkspaceBusy(busy_line(self.ws, step_id))
                    if not told:
                        on_wait(f"{busy_line(self.ws, step_id)}; waiting…")
                        told = True
                    time.sleep(POLL_S)
                self.fds.append(fd)
        except BaseException:
            self.release()
            raise
        self.note(pid=os.getpid(), run_id=self.run_id, started_at=utc_now(), steps=self.steps)

    @classmethod
    def inherited(cls, ws: Workspace, run_id: str, steps: Sequence[str], fds: Sequence[int]) -> RunLock:
        """The locks a run host got from the face that took them (one descriptor per step, in order)."""
        lock = cls(ws, run_id, steps)
        lock.fds = list(fds)
        for fd in lock.fds:
            os.set_inheritable(fd, False)  # passed on explicitly (pass_fds), never by accident
        lock._holder = {"run_id": run_id, "steps": list(steps)}
        return lock

    def note(self, **fields: Any) -> None:
        """Add to the holder record in every lock file: the host's pid, the check worker's."""
        self._holder = {**self._holder, **fields}
        data = json.dumps(self._holder).encode()
        for fd in self.fds:
            with contextlib.suppress(OSError):  # a full disk must not stop the run it describes
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)

    def note_worker(self, pid: int) -> None:
        """Record the check worker's pid: the process that still holds the locks if the host dies."""
        self.note(worker_pid=pid)

    def release(self) -> None:
        """Close our descriptors; a lock is gone once no other process holds its inherited copy either.
        Closing, not LOCK_UN: unlocking would release it for a host or worker that shares the description."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []


def _try_lock(path: Path) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def holder(ws: Workspace, step_id: str) -> dict[str, Any] | None:
    """What the step's lock file says of its last holder (who may be gone: the lock file does not say)."""
    with contextlib.suppress(OSError, ValueError), open(lock_path(ws, step_id), encoding="utf-8") as file:
        found = json.load(file)
        return found if isinstance(found, dict) else None
    return None


def busy_line(ws: Workspace, step_id: str) -> str:
    """'another paddle-port run (pid 1234, check pid 1240, run 3f2a9c01, started 12:01:02, steps forward data)
    is running forward'."""
    found = holder(ws, step_id)
    if found is None:  # written between its lock and its JSON: nothing to say yet
        return f"another paddle-port run is running {step_id}"
    parts = [f"pid {found.get('pid')}"]
    if found.get("worker_pid"):
        parts.append(f"check pid {found['worker_pid']}")
    parts.append(f"run {str(found.get('run_id', '?'))[:8]}")
    parts.append(f"started {local_clock(found.get('started_at'))}")
    parts.append(f"steps {' '.join(str(step) for step in found.get('steps') or [])}")
    return f"another paddle-port run ({', '.join(parts)}) is running {step_id}"


def local_clock(iso: Any) -> str:
    """An ISO UTC time of the state as the porter's wall clock, "12:01:02" ("?" if it is none)."""
    try:
        moment = datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "?"
    return moment.astimezone().strftime("%H:%M:%S")
