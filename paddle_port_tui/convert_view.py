"""The wizard's step 0: what `paddle-port convert` left in `DST/.paddle_port_convert.json`, readable.

Pure (no Textual): find the records in a workspace, draw one as a rich renderable (rate and counts, the
unconverted lines grouped by API, comments dropped, the smoke import per file, the known converter faults with
their edit, the next command), and list the places in DST an editor can open.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Group, RenderableType
from rich.text import Text

from paddle_port_tui.convert_init import RECORD
from paddle_port_tui.convert_report import forward_words

SKIPPED = frozenset({".venv", ".git", "result", ".paddle_port"})
MAX_DEPTH = 3  # DST may lie this many folders below the workspace root


class ConvertViewError(ValueError):
    """A record that cannot be read: one line naming the file."""


class Location(NamedTuple):
    label: str
    path: Path  # a file under DST
    line: int | None


def find_records(workspace: Path) -> list[Path]:
    """Every `*/.paddle_port_convert.json` up to three folders below the workspace root, newest first."""
    root = Path(workspace)
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED) if depth < MAX_DEPTH else []
        if depth and RECORD in files:
            found.append(Path(folder) / RECORD)

    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=lambda path: (-modified(path), str(path)))


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConvertViewError(f"{path}: cannot be read ({error}); run `paddle-port convert` again") from None
    if not isinstance(document, dict) or not isinstance(document.get("dst"), str):
        raise ConvertViewError(f"{path}: not a conversion record (no dst); run `paddle-port convert` again")
    return document


def _list(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def final_smoke(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The smoke results that hold now: after --fix when it ran, else the first import."""
    return (
        _list(document, "smoke_after_fix") if document.get("smoke_after_fix") is not None else _list(document, "smoke")
    )


def _fixed(document: dict[str, Any], hit: dict[str, Any]) -> bool:
    return bool(document.get("fix_diff")) and bool(hit.get("safe"))


def where(result: dict[str, Any]) -> str:
    file = result.get("failing_file") or result.get("file", "?")
    return f"{file}:{result['line']}" if result.get("line") is not None else str(file)


def _line(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def locations(document: dict[str, Any]) -> list[Location]:
    """What an editor can open, as (label, file under DST, line): the failing smoke lines first, then the
    unconverted lines, then the converter faults not already fixed by --fix."""
    dst = Path(str(document.get("dst", ".")))
    found: list[Location] = []
    for result in final_smoke(document):
        if not result.get("ok", True):
            file = str(result.get("failing_file") or result.get("file", ""))
            label = f"fails: {where(result)}: {result.get('error', '')}".rstrip(": ")
            found.append(Location(label, dst / file, _line(result.get("line"))))
    for item in _list(document, "unconverted"):
        line = _line(item.get("line"))
        place = f"{item.get('file', '')}:{line}" if line else str(item.get("file", ""))
        found.append(
            Location(f"not converted: {place} {item.get('api', '')}".rstrip(), dst / str(item.get("file", "")), line)
        )
    for hit in _list(document, "rule_hits"):
        if _fixed(document, hit):
            continue
        line = _line(hit.get("line"))
        place = f"{hit.get('file', '')}:{line}" if line else str(hit.get("file", ""))
        found.append(Location(f"fault: {place} [{hit.get('rule', '')}]", dst / str(hit.get("file", "")), line))
    return found


def names_dst(document: dict[str, Any], workspace: Path | None, paddle_factories: Sequence[str]) -> bool:
    """Whether one of the config's Paddle factories (`module:callable`) imports from DST."""
    from paddle_port_tui.convert_init import dotted

    if workspace is None:
        return False
    dst_name = dotted(Path(str(document.get("dst", ""))), workspace)
    if not dst_name:
        return False
    for spec in paddle_factories:
        module = spec.partition(":")[0]
        if module == dst_name or module.startswith(dst_name + "."):
            return True
    return False


def next_command(
    document: dict[str, Any], workspace: Path | None = None, paddle_factories: Sequence[str] | None = None
) -> str:
    dst = Path(str(document.get("dst", "DST")))
    shown = str(dst)
    if workspace is not None:
        with contextlib.suppress(ValueError):
            shown = dst.resolve().relative_to(Path(workspace).resolve()).as_posix()
    if paddle_factories is not None and names_dst(document, workspace, paddle_factories):
        return "paddle-port run forward (the config names the converted factories: step 1)"
    return f"paddle-port init --from-convert {shown}"


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def _smoke_block(title: str, results: list[dict[str, Any]]) -> list[Text]:
    lines = [_heading(title)]
    if not results:
        lines.append(Text("  no converted file imported", style="dim"))
    for item in results:
        line = Text("  ")
        if item.get("ok"):
            line.append("✓ ", style="green")
            line.append(f"{item.get('file', '?')}: ok")
        else:
            line.append("✗ ", style="red")
            line.append(f"{item.get('file', '?')}: fails at {where(item)}: {item.get('error', '')}")
        lines.append(line)
        if not item.get("ok") and item.get("text"):
            lines.append(Text(f"      {item['text']}", style="dim"))
    return lines


def convert_renderable(
    document: dict[str, Any], workspace: Path | None = None, paddle_factories: Sequence[str] | None = None
) -> RenderableType:
    """The record as the wizard's step 0 page shows it."""
    parts: list[RenderableType] = []
    rate = document.get("rate")
    rate_text = f"{rate:.2f}%" if isinstance(rate, (int, float)) else "not in the log"
    passed = document.get("passed")
    title = Text(f"PaConvert: {document.get('src', '?')} -> {document.get('dst', '?')}", style="bold")
    parts.append(title)
    summary = Text("convert rate ")
    summary.append(rate_text, style="bold")
    summary.append(
        f": {document.get('apis_converted', '?')} of {document.get('apis_total', '?')} torch APIs converted, "
        f"{document.get('apis_not_converted', '?')} not"
    )
    parts.append(summary)
    if passed is not None:
        parts.append(
            Text("nothing left to do" if passed else "problems left: see below", style="green" if passed else "yellow")
        )
    if document.get("log"):
        parts.append(Text(f"full log: {document['log']}", style="dim"))

    unconverted = _list(document, "unconverted")
    parts.append(Text(""))
    lines_word = "line" if len(unconverted) == 1 else "lines"
    parts.append(_heading(f"Not converted ({len(unconverted)} {lines_word}, left as torch, marked >>>>>>)"))
    if not unconverted:
        parts.append(Text("  every torch API was converted", style="dim"))
    by_api: dict[str, list[str]] = {}
    for item in unconverted:
        number = _line(item.get("line"))
        by_api.setdefault(str(item.get("api", "?")), []).append(
            f"{item.get('file', '?')}:{number}" if number else str(item.get("file", "?"))
        )
    for api, places in sorted(by_api.items()):
        grouped = Text("  ")
        grouped.append(api, style="bold")
        grouped.append(f": {', '.join(places)}")
        parts.append(grouped)

    dropped = document.get("comments_dropped")
    if isinstance(dropped, dict) and dropped:
        parts.append(Text(""))
        parts.append(Text("comments dropped by PaConvert: " + ", ".join(f"{f} ({n})" for f, n in dropped.items())))

    parts.append(Text(""))
    parts.extend(_smoke_block("Smoke import (each converted file, with Paddle)", _list(document, "smoke")))
    if document.get("smoke_after_fix") is not None:
        parts.append(Text(""))
        parts.extend(_smoke_block("Smoke import after --fix", _list(document, "smoke_after_fix")))

    forward = document.get("forward")
    if isinstance(forward, dict):
        parts.append(Text(""))
        parts.append(_heading(f"One forward of {forward.get('model')} on the config's inputs"))
        parts.append(Text(f"  {forward_words(forward)}", style="green" if forward.get("ok") else "red"))

    hits = _list(document, "rule_hits")
    if hits:
        parts.append(Text(""))
        parts.append(_heading("Known converter faults"))
        for hit in hits:
            fault = Text(f"  {hit.get('file', '?')}:{hit.get('line', '?')} ")
            fault.append(f"[{hit.get('rule', '?')}]", style="bold")
            fault.append(f" {str(hit.get('text', '')).strip()}")
            parts.append(fault)
            how = "fixed by --fix" if _fixed(document, hit) else "edit (--fix)" if hit.get("safe") else "by hand"
            parts.append(Text(f"      {how}: {str(hit.get('suggested', '')).strip()}", style="cyan"))
            if hit.get("why"):
                parts.append(Text(f"      why: {hit['why']}", style="dim"))

    diff = document.get("fix_diff")
    if isinstance(diff, str) and diff:
        parts.append(Text(""))
        parts.append(_heading("Edits made by --fix"))
        for line in diff.rstrip("\n").splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            parts.append(Text(f"  {line}", style=style))

    parts.append(Text(""))
    parts.append(_heading("Next"))
    parts.append(Text(f"  {next_command(document, workspace, paddle_factories)}", style="bold"))
    return Group(*parts)
