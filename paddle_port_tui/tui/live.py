"""What the wizard knows about a run while it is going: output not yet drawn, keys reported so far.

A run belongs to the app, not to a page. Its `FlowRun` runs in a thread whose listener (`RunFeed`) fills a
`LiveRun` and posts a `RunProgress` message, which coalesces while the UI is busy: however fast a check
prints, the UI draws the newest lines once per message it gets to, and keeps answering keys.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from paddle_port_checks.schema import Event, KeyDiff, StepResult

# Lines kept on screen per step; the full log is on disk (.paddle_port/logs/<step>.log).
SCREEN_LINES = 2000
# Lines drawn per redraw at most: a flood is shown by its newest lines, so a frame never waits on
# formatting thousands of lines nobody can read at that speed.
DRAW_BATCH = 200


@dataclass
class LiveRun:
    """One step's run as the wizard shows it. Written by the run's thread, read by the UI: under a lock."""

    step_id: str
    device: str
    undrawn: deque[str] = field(default_factory=lambda: deque(maxlen=SCREEN_LINES))
    keys: list[KeyDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stage: str = ""
    skipped: int = 0  # lines that scrolled past before they were drawn (they are in the log on disk)
    finished: Any = None  # the runner's Finished
    cancel_requested: bool = False
    # Bumped on every change, so pages redraw only what changed: output lines are cheap to append,
    # the title and the table are rebuilt only when an event or the end of the run changed them.
    lines_version: int = 0
    info_version: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        return self.finished is None

    def add_line(self, text: str) -> None:
        self.add_lines([text])

    def add_lines(self, texts: list[str]) -> None:
        """Queue a batch for drawing; lines the screen cap would drop anyway are dropped here, unformatted."""
        with self._lock:
            overflow = len(self.undrawn) + len(texts) - SCREEN_LINES
            if overflow > 0:
                self.skipped += overflow
            self.undrawn.extend(texts[-SCREEN_LINES:])
            self.lines_version += 1

    def add_event(self, event: Event) -> None:
        """Fold one event of the check into what the page shows."""
        with self._lock:
            if event.kind == "key" and event.diff is not None:
                self.keys = [key for key in self.keys if key.key != event.diff.key] + [event.diff]
            elif event.kind == "warning" and event.message is not None:
                self.warnings.append(event.message)
            elif event.kind == "stage":
                self.stage = f"{event.name or ''}: {event.status or ''}"
            self.info_version += 1

    def finish(self, finished: Any) -> None:
        with self._lock:
            self.finished = finished
            self.info_version += 1

    def take_lines(self, limit: int = DRAW_BATCH) -> tuple[list[str], int]:
        """The newest lines since the last call (at most `limit`) and how many older ones are skipped."""
        with self._lock:
            lines = list(self.undrawn)
            self.undrawn.clear()
            skipped = self.skipped + max(len(lines) - limit, 0)
            self.skipped = 0
        return lines[-limit:], skipped

    def partial_result(self) -> StepResult:
        """A result of the keys reported so far, for the live table."""
        with self._lock:
            return StepResult(step=self.step_id, status="running", keys=list(self.keys), warnings=list(self.warnings))
