"""Known faults of PaConvert 3.3.1's output on Paddle 3.3.1: where they are, the edit, and why.

Each rule was seen in PaConvert's real output (tests/convert_trees/); `apply` makes only the edits marked
safe, writes each file atomically and returns the unified diff so nothing changes unseen.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paddle_port_checks.atomic import write_text_atomic

# What paddle.io offers on Paddle 3.3.1 of torch.utils.data's names (PaConvert writes paddle.utils.data.<name>).
_PADDLE_IO = frozenset(
    [
        "Dataset",
        "IterableDataset",
        "DataLoader",
        "Sampler",
        "BatchSampler",
        "RandomSampler",
        "SequenceSampler",
        "DistributedBatchSampler",
        "Subset",
        "TensorDataset",
        "ConcatDataset",
        "ComposeDataset",
        "ChainDataset",
        "random_split",
        "get_worker_info",
        "WeightedRandomSampler",
        "SubsetRandomSampler",
    ]
)


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]
    why: str
    replace: Callable[[re.Match[str], str], str | None] | None  # (match, rest of file from it) -> new text, or None


@dataclass(frozen=True)
class Hit:
    file: str  # relative to the tree, posix
    line: int
    rule: str
    text: str  # the line as it is
    suggested: str  # the line after the edit, or what to do by hand
    safe: bool  # `apply` makes this edit
    why: str
    column: int = 0  # where the matched text starts in the line
    matched: str = ""  # the text the edit replaces
    replacement: str = ""  # what replaces it (safe hits)


def _paddle_io(match: re.Match[str], rest: str) -> str | None:
    return f"paddle.io.{match[1]}" if match[1] in _PADDLE_IO else None


def _without_inplace(match: re.Match[str], rest: str) -> str | None:
    """The call up to its arguments without `inplace=...` (a trailing comma left behind is dropped too)."""
    start, end = match.start(1) - match.start(), match.end(1) - match.start()
    kept = match[0][:start] + match[0][end:]
    return kept.rstrip(", ") if kept.rstrip().endswith(",") else kept


def _max_pool(match: re.Match[str], rest: str) -> str | None:
    # MaxPool2D's 4th positional is return_mask where torch's is dilation; it has no dilation/return_indices.
    args = _call_args(rest[match.end() - match.start() :])
    if args is None or any(arg.split("=")[0].strip() in ("dilation", "return_indices") for arg in args):
        return None
    if sum("=" not in arg for arg in args) > 3:
        return None
    return f"paddle.nn.MaxPool{match[1]}D("


RULES = (
    Rule(
        "paddle-utils-data",
        re.compile(r"\bpaddle\.utils\.data\.(\w+)"),
        "PaConvert writes torch.utils.data as paddle.utils.data, which Paddle does not have "
        "(AttributeError: module 'paddle.utils' has no attribute 'data'); the datasets and loaders are in paddle.io",
        _paddle_io,
    ),
    Rule(
        "maxpool-case",
        re.compile(r"\bpaddle\.nn\.MaxPool([123])d\("),
        "PaConvert keeps torch's spelling; Paddle's layer is paddle.nn.MaxPool1D/2D/3D "
        "(paddle.nn has no MaxPool2d: AttributeError when the model is built)",
        _max_pool,
    ),
    Rule(
        "activation-inplace",
        re.compile(
            r"\bpaddle\.nn\.(?:ReLU|ReLU6|LeakyReLU|Hardswish|Hardsigmoid|ELU|SELU|GELU|Mish)\([^()\n]*?(inplace\s*=\s*(?:True|False)\s*,?\s*)"
        ),
        "PaConvert keeps torch's inplace= on activation layers; Paddle 3.3.1's take none (TypeError: __init__() got an "
        "unexpected keyword argument 'inplace' when the model is built); dropping it changes no value",
        _without_inplace,
    ),
    Rule(
        "tensor-view",
        re.compile(r"\.view\("),
        "x.view survives conversion and breaks paddle.jit.save (export); reshape gives the same values for a "
        "shape argument. Not changed automatically: view shares memory (writes through it reach the original) "
        "and view(dtype) reinterprets bits",
        None,
    ),
    Rule(
        "key-padding-mask",
        re.compile(r"\b(?:src|tgt|memory)?_?key_padding_mask\s*="),
        "Paddle's Transformer layers take src_mask/attn_mask, not torch's *_key_padding_mask, and a bool Paddle "
        "mask means the opposite: True = attend, where torch's True = ignore. Pass the inverted mask "
        "(~mask, shaped [batch, 1, 1, seq]) as src_mask; no automatic edit",
        None,
    ),
)

# PaConvert puts `import paddle` above everything, a module's `from __future__ import ...` included, which must
# come first: the file does not even compile. The edit moves those lines to the top (`apply`).
FUTURE_RULE = "future-import"
_FUTURE = re.compile(r"^from __future__ import [^\n]+$", re.MULTILINE)
_FUTURE_WHY = (
    "PaConvert writes `import paddle` above the module's `from __future__ import ...`, which must be its first "
    "statement (SyntaxError: from __future__ imports must occur at the beginning of the file)"
)

_SUGGESTIONS: dict[str, Callable[[str], str]] = {
    "tensor-view": lambda line: line.replace(".view(", ".reshape("),
    "key-padding-mask": lambda line: "pass src_mask=~mask (inverted, shaped [batch, 1, 1, seq]) instead",
}


def find(dst: Path) -> list[Hit]:
    """Every rule's hit in the tree's .py files, in file and line order."""
    hits: list[Hit] = []
    for path in sorted(Path(dst).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        relative = path.relative_to(dst).as_posix()
        lines = text.split("\n")  # numbered as _line_starts counts them
        starts = _line_starts(text)
        for rule in RULES:
            for match in rule.pattern.finditer(text):
                number = _line_of(starts, match.start())
                line = lines[number - 1]
                new = rule.replace(match, text[match.start() :]) if rule.replace else None
                column = match.start() - starts[number - 1]
                if new is not None:
                    suggested = line[:column] + new + line[column + len(match[0]) :]
                else:
                    suggested = _SUGGESTIONS[rule.id](line) if rule.id in _SUGGESTIONS else "edit by hand"
                safe = new is not None
                hits.append(
                    Hit(relative, number, rule.id, line, suggested, safe, rule.why, column, match[0], new or "")
                )
        hits += _future_hits(relative, text, starts)
    hits.sort(key=lambda hit: (hit.file, hit.line))
    return hits


def _future_hits(relative: str, text: str, starts: list[int]) -> list[Hit]:
    """`from __future__` lines that Python refuses where they stand (code above them): each is moved up."""
    try:
        compile(text, relative, "exec")
        return []  # it compiles: a docstring, a shebang or comments above a __future__ import are allowed
    except SyntaxError as error:
        if "from __future__ imports must occur at the beginning" not in str(error):
            return []
    hits = []
    for match in _FUTURE.finditer(text):
        line = match[0]
        # A parenthesised or continued import spans lines this edit would tear apart: by hand.
        whole = line.count("(") == line.count(")") and not line.rstrip().endswith("\\")
        suggested = f"{line}  (moved up, above the code)" if whole else "move the whole import above the code, by hand"
        number = _line_of(starts, match.start())
        hits.append(Hit(relative, number, FUTURE_RULE, line, suggested, whole, _FUTURE_WHY, 0, line, line))
    return hits


OWN_PACKAGE_RULE = "own-package-import"


def own_package_hits(dst: Path, src_name: str, dst_name: str) -> list[Hit]:
    """Absolute imports of the reference's own package (`from demo_port.x import y`, its name as the workspace
    imports it): in the converted tree they import the torch original, or nothing. The edit names the converted
    package instead (`dst_name`, DST as the workspace imports it); without one, by hand."""
    if not src_name:
        return []
    pattern = re.compile(rf"^(\s*(?:from|import)\s+)({re.escape(src_name)})(?=[.\s])", re.MULTILINE)
    why = (
        f"converted code keeps the reference's absolute imports of {src_name}: run beside the reference it imports "
        f"the torch module, alone it finds none (ModuleNotFoundError)"
    )
    hits = []
    for path in sorted(Path(dst).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        starts, lines = _line_starts(text), text.split("\n")
        for match in pattern.finditer(text):
            number = _line_of(starts, match.start(2))
            line, column = lines[number - 1], match.start(2) - starts[number - 1]
            if dst_name:
                suggested = line[:column] + dst_name + line[column + len(src_name) :]
            else:
                suggested = "import the converted module relatively, or by its name where the workspace imports it"
            relative = path.relative_to(dst).as_posix()
            hits.append(
                Hit(
                    relative, number, OWN_PACKAGE_RULE, line, suggested, bool(dst_name), why, column, src_name, dst_name
                )
            )
    return hits


def _lines(text: str) -> list[str]:
    """The text's lines with their endings, split on "\\n" only: as `find` numbers them (str.splitlines would
    also split on form feeds and other separators that Python's own line numbers do not count)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _header_end(lines: list[str]) -> int:
    """Where moved __future__ lines go: after a shebang and an encoding comment, which must stay first."""
    end = 0
    while end < min(len(lines), 2) and lines[end].startswith("#"):
        end += 1
    return end


def apply(dst: Path, hits: list[Hit]) -> str:
    """Make the safe edits among `hits` (the line replaced by `suggested`), each file written atomically;
    the unified diff of what changed ("" when nothing did)."""
    by_file: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.safe:
            by_file.setdefault(hit.file, []).append(hit)
    diffs: list[str] = []
    for relative, file_hits in sorted(by_file.items()):
        path = Path(dst) / relative
        old = path.read_text(encoding="utf-8")
        lines = _lines(old)
        moved = [hit for hit in file_hits if hit.rule == FUTURE_RULE]
        file_hits = [hit for hit in file_hits if hit.rule != FUTURE_RULE]
        for hit in sorted(file_hits, key=lambda hit: -hit.column):  # right to left: columns stay valid
            current = lines[hit.line - 1]
            body = current.rstrip("\r\n")
            if body[hit.column : hit.column + len(hit.matched)] == hit.matched:  # the line still holds it
                body = body[: hit.column] + hit.replacement + body[hit.column + len(hit.matched) :]
                lines[hit.line - 1] = body + current[len(current.rstrip("\r\n")) :]
        still = [hit for hit in moved if lines[hit.line - 1].rstrip("\r\n") == hit.matched]  # unchanged since
        if still:  # lines leave their places bottom up, then come first in their order
            first = [lines.pop(hit.line - 1) for hit in sorted(still, key=lambda hit: -hit.line)][::-1]
            at = _header_end(lines)
            lines[at:at] = [line if line.endswith("\n") else line + "\n" for line in first]
        new = "".join(lines)
        if new != old:
            write_text_atomic(path, new)
            diffs.extend(difflib.unified_diff(old.splitlines(True), lines, f"a/{relative}", f"b/{relative}"))
    return "".join(diffs)


def _call_args(text: str) -> list[str] | None:
    """The top-level arguments of the call whose `(` was just passed (text starts after it); None if unclosed."""
    depth, current, args = 0, "", []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                if current.strip():
                    args.append(current.strip())
                return args
            depth -= 1
        elif char == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        current += char
    return None


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")
    return starts


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset)
