"""A child's output as lines: cut from the byte stream as it is read, decoded in batches.

Output is read in large chunks and every chunk's complete lines are handed on at once; decoding per
line costs more than the rest of the pipeline, and one newline-less stream must not eat the memory.
"""

from __future__ import annotations

import re

CHUNK_BYTES = 1 << 16
# A "line" longer than this is handed on in pieces.
MAX_LINE_BYTES = 1 << 20
# Colour codes are kept in live output and the log, but not in error text stored and shown as plain text.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class LineSplitter:
    """Cuts a byte stream into lines; the unfinished tail waits for the next chunk."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > MAX_LINE_BYTES:
            lines.append(self._tail)
            self._tail = b""
        return lines

    def finish(self) -> list[bytes]:
        tail, self._tail = self._tail, b""
        return [tail] if tail else []


def decode_lines(lines: list[bytes]) -> list[str]:
    """Decode a chunk's lines in one go; a CRLF line loses its CR. UTF-8 never spans a newline byte, so
    this equals decoding line by line."""
    if not lines:
        return []
    texts = b"\n".join(lines).decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    texts[-1] = texts[-1].removesuffix("\r")
    return texts


def plain(text: str) -> str:
    """Text without colour codes."""
    return ANSI_ESCAPE.sub("", text)
