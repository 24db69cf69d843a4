"""Live progress events for the app, one `schema.Event` per line (strict JSON) on an inherited pipe.

The app passes the pipe's write end to the check script and names it in ``PADDLE_PORT_EVENT_FD``.
Run by hand (no variable), a script emits nothing and behaves the same. Events are a courtesy: if the
app went away, the check keeps running and still writes its evidence, so errors never escape.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .atomic import dumps_strict
from .schema import Event

EVENT_FD_ENV = "PADDLE_PORT_EVENT_FD"

_stream: TextIO | None = None
_stream_fd: str | None = None
# Set once the pipe failed (reader gone, bad descriptor): stop trying for the rest of the process.
_broken = False


def emit(event: Event) -> None:
    """Write the event as one flushed JSON line; a no-op without the env variable."""
    global _broken
    stream = _event_stream()
    if stream is None:
        return
    line = dumps_strict(event.to_json())
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):  # BrokenPipeError when the app has gone; ValueError if closed under us
        _broken = True


def _event_stream() -> TextIO | None:
    """The stream for the descriptor named in the environment, opened once per descriptor."""
    global _stream, _stream_fd, _broken
    fd_text = os.environ.get(EVENT_FD_ENV, "").strip()
    if not fd_text:
        return None
    if fd_text != _stream_fd:
        _stream_fd, _stream, _broken = fd_text, None, False
        try:
            _stream = os.fdopen(int(fd_text), "w", buffering=1, encoding="utf-8", closefd=False)
        except (OSError, ValueError) as exc:
            _broken = True
            print(f"paddle-port: live events off, {EVENT_FD_ENV}={fd_text!r}: {exc}", file=sys.stderr)
    return None if _broken else _stream
