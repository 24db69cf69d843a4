"""events: one `Event` record per line (strict JSON) on an inherited pipe, silent without one, harmless
when the reader has gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paddle_port_checks import events
from paddle_port_checks.schema import Event, KeyDiff, parse_event

CHILD_EMITS = """
import math
from paddle_port_checks.events import emit
from paddle_port_checks.schema import Event, KeyDiff
emit(Event("start", "forward", device="cpu"))
emit(Event("key", "forward", diff=KeyDiff(key="logits", mean=math.nan, max=math.inf, min=0.0, threshold=1e-5,
                                           method="mean", passed=False, shape_ref=(1, 10), ref_absmax=3.0)))
emit(Event("result", "forward", status="failed", path="result/forward.json"))
print("child done", flush=True)
"""

# What the child emits, as the app reads it back: NaN and Inf are null in strict JSON.
EMITTED = [
    Event("start", "forward", device="cpu"),
    Event(
        "key",
        "forward",
        diff=KeyDiff(
            key="logits", mean=None, max=None, min=0.0, threshold=1e-5, method="mean", passed=False, shape_ref=(1, 10)
        ),
    ),
    Event("result", "forward", status="failed", path="result/forward.json"),
]


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


def run_quiet_child(env_fd: str | None, pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The child where no event can reach a reader: it must run and say nothing about it."""
    child = run_child(env_fd, pass_fds)
    assert child.returncode == 0, child.stderr
    assert child.stdout == "child done\n"
    return child


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
    assert parsed[0] == {"kind": "start", "step": "forward", "schema": 1, "device": "cpu"}
    assert parsed[1]["diff"]["mean"] is None and parsed[1]["diff"]["shape_ref"] == [1, 10]
    assert "ref_absmax" not in parsed[1]["diff"]  # lives only in the writing process
    assert [parse_event(line) for line in lines] == EMITTED


def test_reader_gone_stops_emitting_without_errors():
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody will ever read: every write is a broken pipe
    try:
        child = run_quiet_child(str(write_fd), pass_fds=(write_fd,))
    finally:
        os.close(write_fd)
    assert child.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_without_the_variable_events_are_dropped():
    assert run_quiet_child(None).stderr == ""


@pytest.mark.parametrize("fd_text", ["not-a-number", "987"])  # 987: a descriptor the child does not have
def test_unusable_descriptor_turns_events_off_with_one_note(fd_text):
    assert run_quiet_child(fd_text).stderr.count("live events off") == 1


def test_in_process_stream_is_opened_once_and_flushed_per_line(monkeypatch):
    read_fd, write_fd = os.pipe()
    monkeypatch.setenv(events.EVENT_FD_ENV, str(write_fd))
    monkeypatch.setattr(events, "_stream_fd", None)  # forget streams of earlier tests
    try:
        events.emit(Event("stage", "forward", name="reference", status="running"))
        first_stream = events._stream
        # Flushed per line: readable now, while the writer is still open.
        assert os.read(read_fd, 4096).decode() == (
            '{"kind": "stage", "step": "forward", "schema": 1, "name": "reference", "status": "running"}\n'
        )
        events.emit(Event("warning", "forward", message="near zero"))
        assert events._stream is first_stream
        assert parse_event(os.read(read_fd, 4096)) == Event("warning", "forward", message="near zero")
    finally:
        monkeypatch.delenv(events.EVENT_FD_ENV)
        events.emit(Event("stage", "forward"))  # no variable: a no-op, the old stream is left alone
        os.close(write_fd)
        os.close(read_fd)
