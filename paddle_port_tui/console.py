"""The CLI's rich consoles, and what the CLI does when the reader of its output goes away.

`paddle-port run | head -1`: once `head` has its line, every write to stdout fails with EPIPE. Rich's own
answer is `SystemExit(1)`, the code of a failed comparison, raised on whichever thread wrote; ours lets the
BrokenPipeError reach `cli.main`, which stops the run like an interrupt and exits 2 without a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any


def console(stderr: bool = False) -> Any:
    """A rich console without highlighting whose broken pipe is a BrokenPipeError, not an exit. With
    NO_COLOR, no escape codes at all: rich drops only the colours and keeps bold and italic, which a log
    reader or a screen reader sees as the same noise."""
    plain = os.environ.get("NO_COLOR", "") != ""  # set and not empty, as no-color.org and rich read it
    return _console_class()(stderr=stderr, highlight=False, color_system=None if plain else "auto")


@functools.cache
def _console_class() -> type:
    from rich.console import Console  # rich costs more to import than --help may spend

    class ReaderAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError("the reader of the output went away")

    return ReaderAwareConsole


def silence_stdout() -> None:
    """Point stdout at /dev/null, as the Python docs advise for SIGPIPE: the interpreter flushes stdout once
    more at exit, and that flush must not meet the broken pipe again (an "Exception ignored" message)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing will flush into a pipe
        pass
