"""events: JSON lines on an inherited pipe, silent without one, harmless when the reader has gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paddle_port_checks import events

CHILD_EMITS = """
import math
from paddle_port_checks.events import emit
emit("start", step="forward", device="cpu")
emit("key", step="forward", diff={"key": "logits", "mean": math.nan, "max": math.inf, "shape_ref": (1, 10)})
emit("result", step="forward", status="failed", path="result/forward.json")
print("child done", flush=True)
"""


def run_child(env_fd: str | None, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != events.EVENT_FD_ENV}
    if env_fd is not None:
        env[events.EVENT_FD_ENV] = env_fd
    return subprocess.run(
        [sys.executable, "-c", CHILD_EMITS],
        env=env,
        pass_fds=pass_fds,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def reject_non_strict(token: str) -> None:
    raise AssertionError(f"non-strict JSON token {token}")


def test_child_writes_one_strict_json_line_per_event_to_the_inherited_pipe():
    read_fd, write_fd = os.pipe()
    try:
        child = run_child(str(write_fd), pass_fds=(write_fd,))
    finally:
        os.close(write_fd)  # the child has exited: now the reader sees end of file
    with os.fdopen(read_fd, encoding="utf-8") as reader:
        lines = reader.read().splitlines()

    assert child.returncode == 0, child.stderr
    assert child.stdout == "child done\n"  # events never mix into the visible output
    parsed = [json.loads(line, parse_constant=reject_non_strict) for line in lines]
    assert parsed == [
        {"event": "start", "step": "forward", "device": "cpu"},
        {"event": "key", "step": "forward",
         "diff": {"key": "logits", "mean": None, "max": None, "shape_ref": [1, 10]}},
        {"event": "result", "step": "forward", "status": "failed", "path": "result/forward.json"},
    ]


def test_reader_gone_stops_emitting_without_errors():
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody will ever read: every write is a broken pipe
    try:
        child = run_child(str(write_fd), pass_fds=(write_fd,))
    finally:
        os.close(write_fd)
    assert child.returncode == 0
    assert child.stdout == "child done\n"
    assert child.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_without_the_variable_events_are_dropped():
    child = run_child(None)
    assert child.returncode == 0
    assert child.stdout == "child done\n"
    assert child.stderr == ""


@pytest.mark.parametrize("fd_text", ["not-a-number", "987"])  # 987: a descriptor the child does not have
def test_unusable_descriptor_turns_events_off_with_one_note(fd_text):
    child = run_child(fd_text)
    assert child.returncode == 0
    assert child.stdout == "child done\n"
    assert child.stderr.count("live events off") == 1


def test_in_process_stream_is_opened_once_and_flushed_per_line(monkeypatch):
    read_fd, write_fd = os.pipe()
    monkeypatch.setenv(events.EVENT_FD_ENV, str(write_fd))
    monkeypatch.setattr(events, "_stream_fd", None)  # forget streams of earlier tests
    try:
        events.emit("stage", step="forward", name="reference", status="running")
        first_stream = events._stream
        # Flushed per line: readable now, while the writer is still open.
        assert os.read(read_fd, 4096).decode() == (
            '{"event": "stage", "step": "forward", "name": "reference", "status": "running"}\n'
        )
        events.emit("warning", step="forward", message="near zero")
        assert events._stream is first_stream
        second = json.loads(os.read(read_fd, 4096))
        assert second == {"event": "warning", "step": "forward", "message": "near zero"}
    finally:
        monkeypatch.delenv(events.EVENT_FD_ENV)
        events.emit("dropped")  # no variable: a no-op, the old stream is left alone
        os.close(write_fd)
        os.close(read_fd)
