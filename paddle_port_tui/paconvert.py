"""Step 0: run PaConvert (torch source -> Paddle source) and read what it did from its log and its output.

PaConvert runs through its own CLI in the porter's interpreter (`python -m paconvert.main`), so it converts
with the packages of the environment the checks run in. Its full log is kept in
`<dst>/.paddle_port_convert.log`. Facts of PaConvert 3.3.1 this module reads (observed, not documented):

- `--log_dir` names a log *file*, not a folder; with it, stdout carries only a banner.
- Per API: `[model.py:12] [Success] Convert torch.nn.TransformerEncoder to Paddle` (tensor methods as
  `Convert Class Method: torch.Tensor.view`), `[model.py:11] [Not Support] convert torch.nn.X to Paddle is
  not supported currently`. The file is a bare name and the line is the *source's* (some are `:1`, e.g. a base
  class); `Start convert file: SRC --> DST` says which file the lines belong to.
- Summary: `There are 9 Pytorch APIs in this Project:`, ` 8  Pytorch APIs have been converted ...`,
  ` 1  Pytorch APIs are not supported ...`, ` Convert Rate is: 88.89%`.
- An unconverted statement is left as torch with `>>>>>>` before its first line in the output, which is
  then not valid Python; the output is reformatted (black), so its lines differ from the source's, and
  `#` comments are dropped.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

LOG_NAME = ".paddle_port_convert.log"
MARKER = ">>>>>>"
INSTALL_HINT = 'pip install "paddle-port[convert]" (or: pip install paconvert==3.3.1)'
TIMEOUT_S = 600

_START = re.compile(r"^Start convert file: (?P<src>.+?) --> (?P<dst>.+?)\s*$")
_SUCCESS = re.compile(r"^\[(?P<file>[^\]:]+)(?::(?P<line>\d+))?\] \[Success\] Convert (?:Class Method: )?(?P<api>\S+)")
_NOT_SUPPORTED = re.compile(r"^\[(?P<file>[^\]:]+)(?::(?P<line>\d+))?\] \[Not Support\] convert (?P<api>\S+)")
_TOTAL = re.compile(r"There are (\d+) Pytorch APIs in this Project")
_CONVERTED = re.compile(r"^\s*(\d+)\s+Pytorch APIs have been converted")
_UNSUPPORTED = re.compile(r"^\s*(\d+)\s+Pytorch APIs are not supported")
_RATE = re.compile(r"Convert Rate is: ([\d.]+)%")
_TORCH_API = re.compile(r"\btorch(?:\.\w+)+")


class ConvertError(Exception):
    """PaConvert could not run (not installed, refused paths, it failed): one line for the porter."""


@dataclass(frozen=True)
class ApiCount:
    name: str
    count: int


@dataclass(frozen=True)
class Unconverted:
    """A statement PaConvert left as torch: `file:line` in the output (relative to dst), the torch API."""

    file: str
    line: int | None  # None: in the log, but no `>>>>>>` line found for it in the output
    api: str
    source_line: int | None
    text: str


@dataclass
class ConvertLog:
    rate: float | None = None  # percent, as PaConvert prints it
    total: int | None = None
    converted: int = 0
    not_converted: int = 0
    apis: list[ApiCount] = field(default_factory=list)  # every API converted, with how often
    unconverted: list[Unconverted] = field(default_factory=list)


@dataclass
class ConvertRun:
    src: Path
    dst: Path
    log_path: Path
    returncode: int
    output: str  # PaConvert's stdout and stderr
    log: ConvertLog
    comments_dropped: dict[str, int] = field(default_factory=dict)  # file -> `#` comments gone


def check_paths(src: Path, dst: Path) -> tuple[Path, Path]:
    """Both resolved, or ConvertError naming the path: SRC a folder, DST new or empty and not inside SRC."""
    src, dst = src.expanduser().resolve(), dst.expanduser().resolve()
    if not src.is_dir():
        raise ConvertError(f"{src}: not a folder (SRC is the PyTorch source tree)")
    if dst == src or dst.is_relative_to(src):
        raise ConvertError(f"{dst}: --out is inside SRC {src}; PaConvert's output must go elsewhere")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise ConvertError(f"{dst}: --out exists and is not empty; name a new or empty folder")
    return src, dst


def run_paconvert(src: Path, dst: Path, python: str) -> ConvertRun:
    """Convert SRC into DST with PaConvert's CLI run by `python`; DST is refused as in `check_paths`."""
    src, dst = check_paths(Path(src), Path(dst))
    dst.mkdir(parents=True, exist_ok=True)
    log_path = dst / LOG_NAME
    command = [python, "-m", "paconvert.main", "--in_dir", str(src), "--out_dir", str(dst), "--log_dir", str(log_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ConvertError(f"{python}: interpreter not found") from None
    except subprocess.TimeoutExpired:
        raise ConvertError(f"PaConvert did not finish in {TIMEOUT_S} s on {src}") from None
    output = done.stdout + done.stderr
    if done.returncode != 0 and re.search(r"No module named '?paconvert", output):
        raise ConvertError(f"PaConvert is not installed in {python}: {INSTALL_HINT}")
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else output
    if done.returncode != 0:
        last = (output.strip().splitlines() or ["no output"])[-1]
        raise ConvertError(f"PaConvert failed (exit {done.returncode}): {last}; its log: {log_path}")
    return ConvertRun(src, dst, log_path, done.returncode, output, parse_log(text, dst), dropped_comments(src, dst))


def parse_log(text: str, dst: Path) -> ConvertLog:
    """The summary, the APIs converted and the lines not converted (file:line from DST's `>>>>>>` lines)."""
    log = ConvertLog()
    counts: dict[str, int] = {}
    missed: dict[str, list[tuple[str, int | None]]] = {}  # output file -> (api, source line), in log order
    current = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if start := _START.match(line):
            current = _relative(Path(start["dst"]), dst)
        elif ok := _SUCCESS.match(line):
            counts[ok["api"]] = counts.get(ok["api"], 0) + 1
        elif no := _NOT_SUPPORTED.match(line):
            missed.setdefault(current or no["file"], []).append((no["api"], _int(no["line"])))
        elif total := _TOTAL.search(line):
            log.total = int(total[1])
        elif converted := _CONVERTED.match(line):
            log.converted = int(converted[1])
        elif unsupported := _UNSUPPORTED.match(line):
            log.not_converted = int(unsupported[1])
        elif rate := _RATE.search(line):
            log.rate = float(rate[1])
    log.apis = [ApiCount(name, count) for name, count in sorted(counts.items())]
    log.unconverted = _unconverted(dst, missed)
    return log


def marked_lines(dst: Path) -> dict[str, list[tuple[int, str]]]:
    """Every `>>>>>>` line of DST's .py files: relative file -> [(line, text without the marker)]."""
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(dst.rglob("*.py")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        marks = [
            (number, text[len(MARKER) :].strip()) for number, text in enumerate(lines, 1) if text.startswith(MARKER)
        ]
        if marks:
            found[_relative(path, dst)] = marks
    return found


def dropped_comments(src: Path, dst: Path) -> dict[str, int]:
    """Per converted file, how many `#` comments of the source are not in the output."""
    dropped: dict[str, int] = {}
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src)
        out = dst / relative
        if out.is_file():
            gone = len(_comments(path) - _comments(out))
            if gone:
                dropped[relative.as_posix()] = gone
    return dropped


def _unconverted(dst: Path, missed: dict[str, list[tuple[str, int | None]]]) -> list[Unconverted]:
    items: list[Unconverted] = []
    marks = marked_lines(dst)
    for file in sorted(set(marks) | set(missed)):
        logged = list(missed.get(file, []))
        for number, text in marks.get(file, []):
            apis = _TORCH_API.findall(text)
            # Pair a marked line with the log's entry for the API it names (else the next one, in order).
            index = next((i for i, (api, _) in enumerate(logged) if api in apis), 0 if logged else None)
            api, source_line = logged.pop(index) if index is not None else (apis[0] if apis else "?", None)
            items.append(Unconverted(file, number, api, source_line, text))
        items.extend(Unconverted(file, None, api, source_line, "") for api, source_line in logged)
    return items


def _comments(path: Path) -> set[str]:
    try:
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8", errors="replace")).readline)
        return {token.string.strip() for token in tokens if token.type == tokenize.COMMENT}
    except (tokenize.TokenError, SyntaxError):  # a `>>>>>>` line or broken indentation: count what is there
        text = path.read_text(encoding="utf-8", errors="replace")
        return {line.strip() for line in text.splitlines() if line.strip().startswith("#")}


def _relative(path: Path, dst: Path) -> str:
    try:
        return path.resolve().relative_to(dst.resolve()).as_posix()
    except ValueError:
        return path.name


def _int(text: str | None) -> int | None:
    return int(text) if text else None
