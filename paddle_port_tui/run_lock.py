"""One run at a time per workspace: `.paddle_port/run.lock`, held with `flock` for the whole of a run.

Two runs on one workspace would interleave their state and `result/` writes (a report saying "passed" beside
a failed key). The lock is taken by the app for the length of a `FlowRun` and its descriptor is inherited by
the check worker: an flock belongs to the open file description, so the worker keeps the lock alive when the
app dies (a dropped SSH session, kill -9) and the kernel releases it when the last holder is gone. A lock
file left behind by a dead holder is therefore harmless; it is never deleted (deleting races with a taker).

The file holds the holder's JSON ({pid, run_id, started_at, steps, worker_pid}), written after locking,
so that a run that finds the workspace busy can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from .state import utc_now
from .workspace import Workspace

POLL_S = 0.2  # how often a waiting run tries the lock again (an flock cannot be waited for with a timeout)
LOCK_NAME = "run.lock"


class WorkspaceBusy(Exception):
    """Another run holds the workspace; the message names it in one line."""


class RunLock:
    """The workspace's run lock for one run. `fd` is what a worker inherits to keep holding it."""

    def __init__(self, ws: Workspace, run_id: str, steps: Sequence[str]) -> None:
        self.path = ws.state_dir / LOCK_NAME
        self.run_id = run_id
        self.steps = list(steps)
        self.fd = -1
        self._holder: dict[str, Any] = {}

    @property
    def held(self) -> bool:
        return self.fd >= 0

    def take(self, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock. When another run holds it: without `on_wait`, WorkspaceBusy naming that run; with
        it, `on_wait` hears that line once and this waits until the lock is free (Ctrl+C interrupts)."""
        told = False
        while not self._try_take():
            if on_wait is None:
                raise WorkspaceBusy(busy_line(self.path))
            if not told:
                on_wait(f"{busy_line(self.path)}; waiting…")
                told = True
            time.sleep(POLL_S)

    def note_worker(self, pid: int) -> None:
        """Record the check worker's pid beside the app's: the one that still holds the lock if the app dies."""
        if self.held:
            self._write({**self._holder, "worker_pid": pid})

    def release(self) -> None:
        """Close our descriptor; the lock is gone once no worker holds its inherited copy either. Closing,
        not LOCK_UN: unlocking would release it for a worker that still shares the description."""
        if self.held:
            os.close(self.fd)
            self.fd = -1

    def _try_take(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self._write({"pid": os.getpid(), "run_id": self.run_id, "started_at": utc_now(), "steps": self.steps})
        return True

    def _write(self, holder: dict[str, Any]) -> None:
        self._holder = holder
        data = json.dumps(holder).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)


def busy_line(path: os.PathLike[str]) -> str:
    """'another paddle-port run (pid 1234, run 3f2a…, started 12:01:02, steps forward) holds this workspace'."""
    holder: Any = None
    with contextlib.suppress(OSError, ValueError), open(path, encoding="utf-8") as file:
        holder = json.load(file)
    if not isinstance(holder, dict):  # written between its lock and its JSON: nothing to say yet
        return "another paddle-port run holds this workspace"
    parts = [f"pid {holder.get('pid')}"]
    if holder.get("worker_pid"):
        parts.append(f"check pid {holder['worker_pid']}")
    parts.append(f"run {str(holder.get('run_id', '?'))[:8]}")
    parts.append(f"started {_local_clock(holder.get('started_at'))}")
    parts.append(f"steps {' '.join(str(step) for step in holder.get('steps') or [])}")
    return f"another paddle-port run ({', '.join(parts)}) holds this workspace"


def _local_clock(iso: Any) -> str:
    try:
        moment = datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "?"
    return moment.astimezone().strftime("%H:%M:%S")
