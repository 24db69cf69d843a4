"""The `tipc` step's commands as rows: from its result (`details["tipc"]["commands"]`), or, while the runner
goes, from the status lines it prints (docs/tipc.md), and the rich table the Result tab and the report show.

Live rows know less than the result's: a status line carries the status and the command, so the stage,
the gpu_list entry and the inference's device and batch size are read off the command (the runner puts
`norm_train_gpus_<entry>` in every command of an entry), and time and log come with the result. The
runner echoes `+ <command>` before it runs one: that row shows as running until its status line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paddle_port_checks.schema import StepResult
from paddle_port_checks.tipc_results import status_line

LOG_TAIL_LINES = 2000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ANY_MODEL = re.compile(r"Run (successfully|failed|skipped) with command - (.+?) - ")
_RUNNER_HEAD = re.compile(r"^TIPC: model (.+?), mode ")
_TRAIN_DIR = re.compile(r"norm_train_gpus_(?P<entry>[-\d,]+)(?P<file>/[^\s/]+)?")
_SKIP_ENTRY = re.compile(r"gpu_list entry (?P<entry>[-\d,]+)")
_USE_GPU = re.compile(r"=(True|False)(?:\s|$)")
_BATCH = re.compile(r"batch[-_]?size[= ](\d+)", re.IGNORECASE)
STATUS_LOOK = {
    "successfully": ("✓ ok", "green"),
    "failed": ("✗ failed", "red"),
    "skipped": ("- skipped", "yellow"),
    "running": ("… running", "cyan"),
}


@dataclass(frozen=True)
class CommandRow:
    """One command of a TIPC run as the wizard shows it (the result's `Command`, or what a live line tells)."""

    stage: str  # train | eval | export | infer | ""
    status: str  # successfully | failed | skipped | running
    command: str
    seconds: float | None = None
    log: str = ""  # workspace-relative
    entry: str = ""
    device: str = ""
    batch_size: int | None = None
    problem: str = ""
    failed: bool = False

    @property
    def note(self) -> str:
        """What the row says beyond its cells: why it fails the step, or why it was skipped."""
        if self.problem:
            return self.problem
        if self.status == "skipped":
            return self.command.partition(": ")[2] or self.command
        return ""


def _text(raw: Any) -> str:
    return raw if isinstance(raw, str) else ""


def _number(raw: Any) -> float | None:
    return float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


def tipc_details(result: StepResult | None) -> dict[str, Any] | None:
    """`details["tipc"]` of a result, when it is there and a table."""
    details = result.details.get("tipc") if result is not None else None
    return details if isinstance(details, dict) else None


def commands_from_result(result: StepResult | None) -> list[CommandRow]:
    """The rows of a finished run, as the step wrote them (malformed entries are skipped, never fatal)."""
    details = tipc_details(result)
    raw = details.get("commands") if details is not None else None
    rows = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        status, command = _text(item.get("status")), _text(item.get("command"))
        entry = _text(item.get("entry"))
        if not entry and status == "skipped":
            found = _SKIP_ENTRY.search(command)
            entry = found["entry"] if found else ""
        batch = item.get("batch_size")
        rows.append(
            CommandRow(
                stage=_text(item.get("stage")),
                status=status,
                command=command,
                seconds=_number(item.get("seconds")),
                log=_text(item.get("log")),
                entry=entry,
                device=_text(item.get("device")),
                batch_size=batch if isinstance(batch, int) and not isinstance(batch, bool) else None,
                problem=_text(item.get("problem")),
                failed=bool(item.get("failed")) or status == "failed",
            )
        )
    return rows


class LiveCommands:
    """The rows of a running TIPC run, fed its output lines batch by batch (each line is read once).

    `model_name` "" = learnt from the runner's first line (`TIPC: model <name>, mode ...`), or from the
    first status line."""

    def __init__(self, model_name: str = "") -> None:
        self.model_name = model_name
        self.rows: list[CommandRow] = []
        self._trained: set[str] = set()  # entries whose train command was seen

    def feed(self, lines: Iterable[str]) -> bool:
        """Read a batch of output lines; whether the rows changed."""
        changed = False
        for line in lines:
            if "Run " not in line and "+ " not in line and "TIPC: model " not in line:
                continue  # the common case, a program's own output: one scan per line
            if "\x1b" in line:
                line = _ANSI.sub("", line)
            changed = self._line(line.rstrip("\r\n")) or changed
        return changed

    def _line(self, line: str) -> bool:
        if line.startswith("+ "):
            command = line[2:].strip()
            if not command:
                return False
            stage, entry, device, batch = self._guess(command)
            self.rows.append(CommandRow(stage, "running", command, entry=entry, device=device, batch_size=batch))
            return True
        if not self.model_name:
            head = _RUNNER_HEAD.match(line)
            if head:
                self.model_name = head[1]
                return False
            found = _ANY_MODEL.search(line)
            if found is None:
                return False
            self.model_name = found[2]
        parsed = status_line(line, self.model_name)
        if parsed is None:
            return False
        self._status(*parsed)
        return True

    def _status(self, status: str, command: str) -> None:
        # The runner is sequential: a running row before this status line that is not its command was a
        # program's own line that looked like the runner's echo.
        kept: list[CommandRow] = []
        match = None
        for row in self.rows:
            if row.status == "running":
                if match is not None or row.command != command:
                    continue
                match = len(kept)
            kept.append(row)
        self.rows = kept
        if match is not None:
            self.rows[match] = replace(self.rows[match], status=status, failed=status == "failed")
            return
        if status == "skipped":
            what, _, why = command.partition(": ")
            found = _SKIP_ENTRY.search(command)
            entry = found["entry"] if found else ""
            if what.startswith("gpu_list entry"):
                row = CommandRow("train", status, command, entry=entry)
            else:
                stage, _entry, device, batch = self._guess(what, skipped=True)
                row = CommandRow(
                    stage or "infer", status, command, entry=entry or _entry, device=device, batch_size=batch
                )
            self.rows.append(row)
            return
        stage, entry, device, batch = self._guess(command)
        self.rows.append(
            CommandRow(stage, status, command, entry=entry, device=device, batch_size=batch, failed=status == "failed")
        )

    def _guess(self, command: str, skipped: bool = False) -> tuple[str, str, str, int | None]:
        """(stage, entry, device, batch size) read off a command: the runner's train dir names the entry;
        a command with the weights in it and the dir is the export, with only the weights the eval; one
        with only the dir is the entry's train first, its inferences after."""
        found = list(_TRAIN_DIR.finditer(command))
        if "paddle.distributed.launch" in command:
            entry = next((match["entry"] for match in found), "")
            if not skipped:
                self._trained.add(entry)
            return "train", entry, "", None
        if not found:
            return "", "", "", None
        entry = found[0]["entry"]
        weights, folder = any(m["file"] for m in found), any(not m["file"] for m in found)
        if weights and folder:
            return "export", entry, "", None
        if weights:
            return "eval", entry, "", None
        if entry not in self._trained and not skipped:
            self._trained.add(entry)
            return "train", entry, "", None
        use_gpu = _USE_GPU.search(command)
        batch = _BATCH.search(command)
        device = ("gpu" if use_gpu[1] == "True" else "cpu") if use_gpu else ""
        return "infer", entry, device, int(batch[1]) if batch else None


def commands_from_output(lines: Iterable[str], model_name: str = "") -> list[CommandRow]:
    """The rows the runner's streamed output tells so far (see `LiveCommands`)."""
    live = LiveCommands(model_name)
    live.feed(lines)
    return live.rows


# --- drawing --------------------------------------------------------------------------------------


def status_cell(row: CommandRow) -> Text:
    word, style = STATUS_LOOK.get(row.status, (row.status or "?", ""))
    if row.failed and row.status != "failed":
        word, style = "✗ failed", "red"  # said successfully, but its log ends in a traceback
    return Text(word, style=style)


def device_cell(row: CommandRow) -> str:
    if row.stage != "infer" and not row.device:
        return "-"
    batch = f"/bs{row.batch_size}" if row.batch_size is not None else ""
    return f"{row.device or '?'}{batch}"


def seconds_cell(row: CommandRow) -> str:
    return "-" if row.seconds is None or row.status == "skipped" else f"{row.seconds:.1f} s"


def log_cell(row: CommandRow, log_dir: str = "") -> str:
    """The log's path, under `log_dir` by its name only (the table's caption names the folder)."""
    if not row.log:
        return "-"
    prefix = log_dir.rstrip("/") + "/" if log_dir else ""
    return row.log[len(prefix) :] if prefix and row.log.startswith(prefix) else row.log


# The cells of a row, in every table that shows the commands (the wizard's, the Result tab's, the reports').
HEADINGS = ("stage", "gpus", "device/bs", "status", "time", "log")


def cells(row: CommandRow, log_dir: str = "") -> tuple[str, str, str, Text, str, str]:
    """One row's cells under HEADINGS, the same in every table."""
    return (
        row.stage or "?",
        row.entry or "-",
        device_cell(row),
        status_cell(row),
        seconds_cell(row),
        log_cell(row, log_dir),
    )


def tipc_table(rows: list[CommandRow], title: str = "", log_dir: str = "") -> Table:
    """One line per command; a failed row's problem (a skipped one's reason) under its log, in its colour."""
    table = Table(
        title=title or None,
        title_justify="left",
        caption=f"logs in {log_dir}/" if log_dir else None,
        caption_justify="left",
    )
    for heading in HEADINGS[:-1]:
        table.add_column(heading, no_wrap=True, justify="right" if heading == "time" else "left")
    table.add_column(HEADINGS[-1], overflow="fold", ratio=1)
    for row in rows:
        stage, entry, device, status, seconds, log = cells(row, log_dir)
        last = Text(log)
        if row.note:
            last.append("\n" + row.note, style="red" if row.failed else "yellow")
        table.add_row(stage, entry, device, status, seconds, last)
    if not rows:
        table.add_row("-", "-", "-", Text("no command", style="dim"), "-", "-")
    return table


def prediction_view(prediction: Any) -> Text | None:
    """The training-engine prediction beside the exported model's, or None when the run compared none."""
    if not isinstance(prediction, dict):
        return None
    text = Text("predict vs infer: ", style="bold")
    answers = []
    for name in ("predict", "infer"):
        value = prediction.get(name)
        found = (int(value[0]), float(value[1])) if isinstance(value, list) and len(value) == 2 else None
        answers.append(found)
        shown = f"class {found[0]}, prob {found[1]:.6f}" if found is not None else "no answer"
        text.append(f"{name} {shown}", style="" if found is not None else "red")
        text.append("  ")
    first, second = answers
    if first is not None and second is not None:
        agree = first[0] == second[0] and abs(first[1] - second[1]) <= 1e-5
        text.append("✓ agree" if agree else "✗ differ", style="green" if agree else "red")
    if prediction.get("infer_log"):
        text.append(f"\n infer's answer from {prediction['infer_log']}", style="dim")
    return text


def tipc_summary(result: StepResult | None) -> RenderableType | None:
    """For the tipc step: its commands' table, the total time against the limit, predict vs infer."""
    details = tipc_details(result)
    if details is None:
        return None
    mode, model = _text(details.get("mode")), _text(details.get("model_name"))
    title = f"TIPC {mode or '?'}: {model or '?'}" + (f" ({details['config']})" if _text(details.get("config")) else "")
    parts: list[RenderableType] = [tipc_table(commands_from_result(result), title, _text(details.get("output")))]
    total, limit = _number(details.get("total_seconds")), _number(details.get("time_limit_s"))
    if total is not None:
        over = limit is not None and total > limit
        line = Text(f"total {total:.1f} s", style="bold red" if over else "bold")
        if limit is not None:
            line.append(
                f" of {limit:g} s allowed" + (": over the TIPC time limit" if over else ""), style="red" if over else ""
            )
        parts.append(line)
    prediction = prediction_view(details.get("prediction"))
    if prediction is not None:
        parts.append(prediction)
    return Group(*parts)


def tail_lines(path: Path, count: int = LOG_TAIL_LINES, max_bytes: int = 4 << 20) -> tuple[list[str], bool]:
    """The last `count` lines of a log (at most its last `max_bytes`), and whether earlier lines were left out."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        start = max(size - max_bytes, 0)
        handle.seek(start)
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line read is cut
    return lines[-count:], start > 0 or len(lines) > count
