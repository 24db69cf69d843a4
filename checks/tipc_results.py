"""What a TIPC run left: `results_python.log` (the truth of each command's status) and `commands.tsv` beside
it (stage, seconds, log), read from where this run began, into one row per command (docs/tipc.md).

A row says successfully yet fails when its log ends in a Python traceback: a program that catches its own
exception, or a shell line whose exit status got lost in a pipe, would pass the runner and break a porter's
user. A failed inference program that looked for `inference.pdmodel` beside an `inference.json` fell into the
Paddle 3 export trap, and is told so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_LOG, COMMANDS_TSV = "results_python.log", "commands.tsv"
STATUSES = ("successfully", "failed", "skipped")
_LOG_NAME = re.compile(
    r"^(?:python_infer_(?P<device>cpu|gpu)_gpus_(?P<infer_entry>.+)_batchsize_(?P<batch>\d+)"
    r"|(?P<stage>train|eval|export)_gpus_(?P<entry>.+))\.log$"
)
# What a skipped row's text says of it: its gpu_list entry, and for an inference its use-gpu value and batch size.
_SKIPPED_WORDS = (
    re.compile(r"gpu_list entry ([-\d,]+)"),
    re.compile(r"use[-_]gpu[= ](True|False)\b", re.IGNORECASE),
    re.compile(r"batch[-_]size[= ](\d+)", re.IGNORECASE),
)
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
# An exception's last line names its class: Python's end in Error, Exception, Exit, Interrupt or Warning, and
# Paddle's C++ one is EnforceNotMet; a program's own output (`loss: 0.1`, `class_id: 3`) does not.
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*(?:\w*(?:Error|Exception|Exit|Interrupt|Warning|Fault|NotMet)|StopIteration|StopAsyncIteration)"
    r"(?::.*)?$"
)
ANSWER = re.compile(r"class_id\s*[:=]\s*(-?\d+).*?prob\s*[:=]\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", re.IGNORECASE)


@dataclass
class Command:
    """One command of the run, as the porter reads it in the table."""

    stage: str  # train | eval | export | infer | "" (a row without a commands.tsv line: an older runner)
    status: str  # one of STATUSES
    command: str
    seconds: float | None = None
    log: str = ""  # workspace-relative
    entry: str = ""  # the gpu_list entry
    device: str = ""  # infer: cpu | gpu
    batch_size: int | None = None
    problem: str = ""  # why it fails the step, beyond "Run failed"

    @property
    def failed(self) -> bool:
        return self.status == "failed" or bool(self.problem)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {"failed": self.failed}


Mark = tuple[int, int]  # (inode, size) of a log when a run began


def sizes(folder: Path) -> dict[str, Mark]:
    """Where each file ends now: a run reads only what it appends after this."""
    marks = {}
    for name in (RESULTS_LOG, COMMANDS_TSV):
        try:
            stat = (folder / name).stat()
            marks[name] = (stat.st_ino, stat.st_size)
        except FileNotFoundError:
            marks[name] = (0, 0)
    return marks


def _appended(path: Path, start: Mark) -> list[str]:
    """The lines written after `start`; all of them when the file was replaced or cut since (a runner of the
    porter's own that clears its logs): an offset into another file would skip this run's first rows."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    inode, size = start
    offset = size if stat.st_ino == inode and stat.st_size >= size else 0
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", errors="replace").splitlines()


def status_line(line: str, model_name: str) -> tuple[str, str] | None:
    """(status, command) of a `Run <status> with command - <model> - <command>!` line."""
    for status in STATUSES:
        prefix = f"Run {status} with command - {model_name} - "
        at = line.find(prefix)  # a runner may colour the line: the words start anywhere
        if at >= 0:
            command = line[at + len(prefix) :].rstrip()
            command = re.sub(r"\x1b\[[0-9;]*m$", "", command).rstrip()
            return status, command[:-1] if command.endswith("!") else command
    return None


def read_commands(root: Path, folder: Path, model_name: str, start: dict[str, Mark]) -> list[Command]:
    """The rows this run appended, in order; the status from results_python.log, the rest from commands.tsv."""
    details: list[list[str]] = [
        row.split("\t", 4) for row in _appended(folder / COMMANDS_TSV, start[COMMANDS_TSV]) if row.count("\t") >= 4
    ]
    commands = []
    for line in _appended(folder / RESULTS_LOG, start[RESULTS_LOG]):
        parsed = status_line(line, model_name)
        if parsed is None:
            continue
        status, text = parsed
        row = next((row for row in details if row[4] == text), None)
        command = Command(stage="", status=status, command=text)
        if row is not None:
            details.remove(row)
            command.stage, command.log = row[0], "" if row[3] == "-" else _relative(root, row[3])
            command.seconds = _seconds(row[2])
            _describe(command)
        commands.append(command)
    return commands


def _relative(root: Path, log: str) -> str:
    path = Path(log)
    path = path if path.is_absolute() else root / path
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _describe(command: Command) -> None:
    """The entry, device and batch size, from the log's name (the runner names each log after them); a skipped
    command has no log: from its words (`... --use-gpu=True --batch-size=1 ...: ... (gpu_list entry 0) ...`)."""
    found = _LOG_NAME.match(Path(command.log).name) if command.log else None
    if found is None:
        entry, use_gpu, batch = (pattern.search(command.command) for pattern in _SKIPPED_WORDS)
        command.entry = entry[1] if entry else ""
        if command.stage == "infer" and use_gpu:
            command.device = "gpu" if use_gpu[1] == "True" else "cpu"
            command.batch_size = int(batch[1]) if batch else None
        return
    if found["stage"]:
        command.entry = found["entry"]
    else:
        command.entry, command.device, command.batch_size = found["infer_entry"], found["device"], int(found["batch"])


def traceback_end(text: str) -> str | None:
    """The exception line when the text ends in a Python traceback, else None."""
    lines = [line for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    if not starts:
        return None
    after = lines[starts[-1] + 1 :]
    if not after or after[-1].startswith((" ", "\t")) or not _EXCEPTION_LINE.match(after[-1]):
        return None
    # Everything between the traceback and its last line is frames, source lines, carets, or a chain.
    for line in after[:-1]:
        if not (line.startswith((" ", "\t")) or line.startswith(_CHAINED) or _EXCEPTION_LINE.match(line)):
            return None
    return after[-1]


def read_log(root: Path, command: Command) -> str:
    if not command.log:
        return ""
    try:
        return (root / command.log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def judge(root: Path, commands: list[Command], model_dir_flag: str) -> None:
    """Set each row's problem: a traceback behind a success, the Paddle 3 export trap behind a failure."""
    for command in commands:
        text = read_log(root, command)
        if command.status == "successfully":
            ended = traceback_end(text)
            if ended:
                command.problem = f"said successfully, but its log ends in a Python traceback: {ended}"
        if command.stage == "infer" and command.failed and ".pdmodel" in text:
            model_dir = _flag_value(command.command, model_dir_flag)
            folder = (root / model_dir) if model_dir and not Path(model_dir).is_absolute() else Path(model_dir or ".")
            if model_dir and any(folder.glob("*.json")):
                command.problem = (
                    f"looks for a .pdmodel, but Paddle 3 exports {_first(folder, '*.json')} (PIR) beside the "
                    ".pdiparams: give paddle.inference.Config the .json and the .pdiparams"
                )
        if command.failed and not command.problem:
            ended = traceback_end(text)
            command.problem = (
                f"failed: {ended}" if ended else "failed" + (f" (see {command.log})" if command.log else "")
            )


def _flag_value(command: str, flag: str) -> str:
    if not flag:
        return ""
    found = re.search(rf"(?:^|\s){re.escape(flag)}[= ](\S+)", command)
    return found[1] if found else ""


def _first(folder: Path, pattern: str) -> str:
    return next(iter(sorted(path.name for path in folder.glob(pattern))), pattern)


def answer(text: str) -> tuple[int, float] | None:
    """The last `class_id: N ... prob: P` a prediction program printed."""
    found = ANSWER.findall(text)
    return (int(found[-1][0]), float(found[-1][1])) if found else None
