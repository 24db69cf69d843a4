"""A check's whole process tree: found while it runs, signalled as one, so no run leaves an orphan.

The check runs in its own session and process group, but DataLoader workers and porters' subprocesses
may leave the group, and once their parent dies they are re-parented and hidden from `children()`. So
the tree is snapshotted now and then while the check runs, and every process carrying the run's marker
variable is found at the end (the technique of Jenkins' BUILD_ID). psutil is imported only when needed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

# Inherited by every descendant, even one that left the process group and whose parent already died.
RUN_MARKER_ENV = "PADDLE_PORT_RUN_ID"


class ProcessTree:
    """The processes of one run: the leader (anything with `pid` and `returncode`) and its descendants."""

    def __init__(self, run_id: str) -> None:
        self.marker = f"{RUN_MARKER_ENV}={run_id}"
        self.leader: Any = None
        self._known: dict[int, psutil.Process] = {}

    def snapshot(self) -> None:
        """Remember every descendant of the leader now: once it dies they are re-parented and hidden."""
        if self.leader is None:
            return
        import psutil

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.leader.pid).children(recursive=True):
                self._known.setdefault(child.pid, child)

    def signal(self, sig: signal.Signals, find_strays: bool = False) -> None:
        """Signal the group and every descendant known (psutil guards against pid reuse)."""
        if self.leader is None:
            return
        if find_strays:
            self._find_strays()
        if self.leader.returncode is None:
            # Only while the leader is unreaped is its pid surely still our group's id; later the group's
            # members are found by the marker instead.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.leader.pid, sig)
        if self._known:
            import psutil

            for process in self._known.values():
                with contextlib.suppress(psutil.Error):
                    process.send_signal(sig)

    def _find_strays(self) -> None:
        """Add every process that carries this run's marker: descendants the snapshots missed."""
        strays = [pid for pid in pids_marked(self.marker) if pid not in self._known]
        if not strays:
            return  # the usual case, which so needs no psutil
        import psutil

        for pid in strays:
            with contextlib.suppress(psutil.Error):
                self._known[pid] = psutil.Process(pid)


def pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the process exits (Linux 5.3+), else None: then poll."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def pids_marked(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (NAME=value). On Linux /proc is read directly and
    only this user's processes are opened (no other can carry it): far cheaper than psutil's objects."""
    name, _, value = marker.partition("=")
    if not os.path.isdir("/proc/self"):
        import psutil

        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.environ().get(name) == value:
                    found.append(process.pid)
        return found
    needle, uid, found = b"\0" + marker.encode() + b"\0", os.getuid(), []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_uid != uid:
                    continue
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if needle in b"\0" + environ.read() + b"\0":
                        found.append(int(entry.name))
    return found


def how_it_ended(exit_code: int | None) -> str:
    """Say "was killed by SIGKILL" rather than "-9": an out-of-memory kill should be recognisable."""
    if exit_code is not None and exit_code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"
