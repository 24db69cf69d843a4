"""What the wizard knows about a run while it is going: output not yet drawn, keys reported so far.

A run belongs to the app, not to a page: the app's worker feeds a `LiveRun`, and whichever page shows
that step drains it on its own timer. Batching the drawing this way keeps the UI answering keys while
a check prints thousands of lines a second.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Lines kept on screen per step; the full log is on disk (runner writes .paddle_port/logs/<step>.log).
SCREEN_LINES = 2000
# Lines drawn per redraw at most: a flood is shown by its newest lines, so a frame never waits on
# formatting thousands of lines nobody can read at that speed (a screen shows ~20; 10 redraws a second).
DRAW_BATCH = 200


@dataclass
class LiveRun:
    step_id: str
    device: str
    run: Any = None  # the runner's CheckRun, set once the worker has created it
    undrawn: deque[str] = field(default_factory=lambda: deque(maxlen=SCREEN_LINES))
    keys: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stage: str = ""
    skipped: int = 0  # lines that scrolled past before they were drawn (they are in the log on disk)
    finished: Any = None  # the runner's Finished message
    cancel_requested: bool = False
    # Bumped on every change, so pages redraw only what changed: output lines are cheap to append,
    # the title and the table are rebuilt only when an event or the end of the run changed them.
    lines_version: int = 0
    info_version: int = 0

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def version(self) -> tuple[int, int]:
        return self.lines_version, self.info_version

    def add_line(self, text: str) -> None:
        self.add_lines([text])

    def add_lines(self, texts: list[str]) -> None:
        """Queue a batch for drawing; lines the screen cap would drop anyway are dropped here, unformatted."""
        overflow = len(self.undrawn) + len(texts) - SCREEN_LINES
        if overflow > 0:
            self.skipped += overflow
        self.undrawn.extend(texts[-SCREEN_LINES:])
        self.lines_version += 1

    def add_event(self, data: dict[str, Any]) -> None:
        """Fold one JSON event of the check into what the page shows."""
        kind = data.get("event")
        if kind == "key" and isinstance(data.get("diff"), dict):
            self.keys = [k for k in self.keys if k.get("key") != data["diff"].get("key")] + [data["diff"]]
        elif kind == "warning":
            self.warnings.append(str(data.get("message", "")))
        elif kind == "stage":
            self.stage = f"{data.get('name', '')}: {data.get('status', '')}"
        self.info_version += 1

    def finish(self, finished: Any) -> None:
        self.finished = finished
        self.info_version += 1

    def take_lines(self, limit: int = DRAW_BATCH) -> tuple[list[str], int]:
        """The newest lines since the last call (at most `limit`) and how many older ones are skipped."""
        lines = list(self.undrawn)
        self.undrawn.clear()
        skipped = self.skipped + max(len(lines) - limit, 0)
        self.skipped = 0
        return lines[-limit:], skipped

    def partial_result(self) -> dict[str, Any]:
        """A result-shaped dict of the keys reported so far, for the live table."""
        return {"step": self.step_id, "status": "running", "keys": list(self.keys), "warnings": list(self.warnings),
                "evidence": []}
