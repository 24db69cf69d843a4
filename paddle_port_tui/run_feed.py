"""A run's news as a file: `.paddle_port/runs/<run id>/feed.jsonl`, written by its host, read by any face.

A run is hosted by a detached process (`run_host`), so the terminal that started it can hang up without
stopping it. Everything a face would have heard from the runner's listener is appended here, one JSON
record per line, in order: `started`, `lines`, `event`, `finished` per step, and `done` at the end. The CLI
that started the run, a wizard reopened an hour later and `paddle-port status --follow` all read the same
file from its beginning (the whole story, then live), so none of them can miss a step's start or verdict.

Each record is one `write` on a file opened with O_APPEND: a reader sees whole records or the start of the
last one, which waits for its newline. A reader polls the file's size; 20 checks a second cost nothing and
keep the wizard's live view under a frame behind the check.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from paddle_port_checks.catalogue import Step, step_by_id
from paddle_port_checks.schema import Event, SchemaError, read_result

from .child_output import LineSplitter
from .runner import Finished, RunListener
from .workspace import Workspace

FEED_NAME = "feed.jsonl"
HOST_NAME = "host.json"  # the host's pid, start and steps (run_host writes it before it runs anything)
HOST_LOG_NAME = "host.log"  # the host's own stdout and stderr: empty unless paddle-port itself failed
CANCEL_NAME = "cancel"  # a face's cancel, for a host not yet listening for signals (run_host.RunHost.cancel)
POLL_S = 0.05
READ_CHUNK_BYTES = 1 << 20
ALIVE_CHECK_S = 0.5  # how often a follower asks whether the host still lives


def run_dir(ws: Workspace, run_id: str) -> Path:
    return ws.state_dir / "runs" / run_id


class FeedWriter(RunListener):
    """The host's listener: every piece of news appended to the feed as one record."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(path, "ab", buffering=0)  # noqa: SIM115 (closed by close())

    def _append(self, record: dict[str, Any]) -> None:
        self._file.write((json.dumps(record, ensure_ascii=False) + "\n").encode())

    def step_started(self, step: Step) -> None:
        self._append({"t": "started", "step": step.id})

    def lines(self, step: Step, texts: list[str]) -> None:
        self._append({"t": "lines", "step": step.id, "lines": texts})

    def event(self, step: Step, event: Event) -> None:
        self._append({"t": "event", "step": step.id, "event": event.to_json()})

    def step_finished(self, step: Step, finished: Finished) -> None:
        self._append(
            {
                "t": "finished",
                "step": step.id,
                "status": finished.status,
                "exit_code": finished.exit_code,
                "error": finished.error,
                "result": (finished.result_path or step.result_file) if finished.result is not None else None,
            }
        )

    def done(self) -> None:
        self._append({"t": "done"})

    def close(self) -> None:
        self._file.close()


@dataclass
class Followed:
    """What a follower saw: each step's end (in the order heard) and whether the host said it was done."""

    finished: dict[str, Finished]
    done: bool


class FeedFollower:
    """Reads a run's feed from its beginning and tells `listener` what it says, until the host writes
    `done` or dies without it. `stop()` (any thread) ends the following early; the run goes on."""

    def __init__(self, ws: Workspace, run_id: str, listener: RunListener, host_alive: Callable[[], bool]) -> None:
        self.ws, self.run_id, self.listener = ws, run_id, listener
        self.path = run_dir(ws, run_id) / FEED_NAME
        self._host_alive = host_alive
        self._stopped = False
        self._offset = 0
        self._lines = LineSplitter()
        self.followed = Followed({}, done=False)

    def stop(self) -> None:
        self._stopped = True

    def follow(self, timeout_s: float | None = None) -> Followed:
        """Follow to the end (or for at most `timeout_s`): every record read is handed on as it comes."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        next_alive_check = time.monotonic() + ALIVE_CHECK_S
        while not self._stopped and not self.followed.done:
            if self.read_new():
                continue
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now >= next_alive_check:
                if not self._host_alive():
                    self.read_new()  # its last words, written before it went
                    break
                next_alive_check = now + ALIVE_CHECK_S
            time.sleep(POLL_S)
        return self.followed

    def read_new(self) -> bool:
        """Take in what was appended since the last read, in bounded chunks (a long run's feed, attached to
        late, is hundreds of MB); True when there was something."""
        try:
            feed = open(self.path, "rb")  # noqa: SIM115 (closed below, between chunks a stop is heard)
        except FileNotFoundError:
            return False
        read_any = False
        with feed:
            feed.seek(self._offset)
            while not self._stopped and (chunk := feed.read(READ_CHUNK_BYTES)):
                read_any = True
                self._offset += len(chunk)
                for line in self._lines.feed(chunk):
                    self._take(line)
        return read_any

    def _take(self, line: bytes) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError, SchemaError):
            record = json.loads(line)
            kind = record["t"]
            if kind == "done":
                self.followed.done = True
                return
            step = step_by_id(record["step"])
            if kind == "started":
                self.listener.step_started(step)
            elif kind == "lines":
                self.listener.lines(step, [str(text) for text in record["lines"]])
            elif kind == "event":
                self.listener.event(step, Event.from_json(record["event"]))
            elif kind == "finished":
                finished = self._finished(step, record)
                self.followed.finished[step.id] = finished
                self.listener.step_finished(step, finished)

    def _finished(self, step: Step, record: dict[str, Any]) -> Finished:
        result, where = None, record.get("result")
        if isinstance(where, str):
            with contextlib.suppress(OSError, SchemaError):
                result = read_result(self.ws.root / where)
        path = where if isinstance(where, str) else None
        return Finished(step.id, str(record["status"]), record.get("exit_code"), result, record.get("error"), path)


def prune_runs(ws: Workspace, keep: int, alive: Callable[[Path], bool]) -> None:
    """Delete all but the newest `keep` run folders of ours whose host is gone: the feed repeats the log,
    and a porter who runs all day must not fill the disk with it."""
    runs = ws.state_dir / "runs"
    with contextlib.suppress(FileNotFoundError):
        folders = sorted(
            (folder for folder in runs.iterdir() if (folder / HOST_NAME).is_file()),
            key=lambda folder: (folder / HOST_NAME).stat().st_mtime,
            reverse=True,
        )
        for folder in folders[keep:]:
            if alive(folder):
                continue
            for name in (FEED_NAME, HOST_NAME, HOST_LOG_NAME, CANCEL_NAME):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / name)
            with contextlib.suppress(OSError):  # a file we did not write stays, and so does its folder
                folder.rmdir()
