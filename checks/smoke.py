"""Smoke-check converted code: import every .py module of a tree, each in a fresh interpreter.

`python -m paddle_port_checks.smoke DST [--json] [--timeout S]` reports per file `ok`, or the first line that
fails (`file:line` of the traceback's last frame inside DST; for a SyntaxError, the line it names) and the
exception line. Each module is imported by a child process of this interpreter with DST first on sys.path,
so what it imports (paddle) is this environment's. Exit 0 all import, 1 some do not, 2 bad usage.
With `--forward CONFIG --model SPEC`, it builds the converted model factory and runs one forward on the config's
inputs instead: the smoke test of the model itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

RESULT_PREFIX = "@@paddle-port-smoke@@ "
TIMEOUT_S = 120.0
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", "build", "dist"}

# Runs in the child: import one module, print one marked JSON line with the failing frame inside DST.
_CHILD = r"""
import importlib, importlib.util, json, os, sys, traceback
root, name, path, prefix = sys.argv[1:5]
# The tree, then the roots it is imported from (the workspace, for code that names its package), never the
# working directory that `python -c` puts first: the reference's own package may lie there.
sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd())]
sys.path[:0] = [root, *sys.argv[5:]]
result = {"ok": True, "line": None, "text": "", "error": ""}
def inside(filename):
    try:
        return os.path.commonpath([os.path.realpath(filename), root]) == root
    except ValueError:
        return False
try:
    if name:
        importlib.import_module(name)
    else:
        spec = importlib.util.spec_from_file_location("smoke_module", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
except BaseException as error:
    result["ok"] = False
    result["error"] = traceback.format_exception_only(type(error), error)[-1].strip()
    where = None
    if isinstance(error, SyntaxError) and error.filename and inside(error.filename):
        where = (error.filename, error.lineno, (error.text or "").strip())
    else:
        for frame in traceback.extract_tb(error.__traceback__):
            if inside(frame.filename):
                where = (frame.filename, frame.lineno, (frame.line or "").strip())
    if where:
        result["file"] = os.path.relpath(os.path.realpath(where[0]), root)
        result["line"], result["text"] = where[1], where[2]
print(prefix + json.dumps(result), flush=True)
"""


@dataclass
class SmokeResult:
    file: str  # relative to the tree, posix
    ok: bool
    line: int | None = None  # the failing line's number in `failing_file`
    failing_file: str | None = None  # the file of that line (an imported module of the tree may be the one)
    text: str = ""  # the failing line's source
    error: str = ""  # the exception line, e.g. "AttributeError: module 'paddle.utils' has no attribute 'data'"
    seconds: float = 0.0

    @property
    def where(self) -> str:
        return f"{self.failing_file or self.file}:{self.line}" if self.line is not None else self.file


def modules(root: Path) -> list[Path]:
    """The tree's .py files, sorted, outside caches and virtual environments."""
    return sorted(path for path in root.rglob("*.py") if not _SKIP_DIRS.intersection(path.relative_to(root).parts[:-1]))


def module_name(relative: Path) -> str:
    """`pkg/mod.py` -> `pkg.mod`, `pkg/__init__.py` -> `pkg`; "" when that is no importable name."""
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts and all(part.isidentifier() for part in parts) else ""


def smoke_one(
    root: Path, path: Path, python: str = sys.executable, timeout: float = TIMEOUT_S, paths: tuple[str, ...] = ()
) -> SmokeResult:
    import time

    relative = path.relative_to(root)
    started = time.monotonic()
    command = [python, "-c", _CHILD, str(root), module_name(relative), str(path), RESULT_PREFIX, *paths]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ left in the converted tree
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        return SmokeResult(relative.as_posix(), False, error=f"import did not finish in {timeout:g} s")
    seconds = round(time.monotonic() - started, 2)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            found = json.loads(line[len(RESULT_PREFIX) :])
            failing = found.get("file")
            return SmokeResult(
                relative.as_posix(),
                bool(found["ok"]),
                found.get("line"),
                Path(failing).as_posix() if failing else None,
                found.get("text", ""),
                found.get("error", ""),
                seconds,
            )
    last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}, no output"])[-1]
    return SmokeResult(relative.as_posix(), False, error=f"the import process ended early: {last}", seconds=seconds)


def smoke_tree(
    root: Path, python: str = sys.executable, timeout: float = TIMEOUT_S, paths: tuple[str, ...] = ()
) -> list[SmokeResult]:
    """Every module of the tree, imported in parallel (one process each), in file order; `paths` are import
    roots after the tree's own (the workspace, where the tree is imported as a package)."""
    root = root.resolve()
    files = modules(root)
    workers = max(1, min(len(files), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda path: smoke_one(root, path, python, timeout, paths), files))


def forward(root: Path, config_path: Path, spec: str, kwargs: dict[str, object]) -> dict[str, object]:
    """Build the converted model factory `spec` and run one forward in eval mode on the config's inputs (the
    forward step's, made the same way); ok with the output shapes, or the first failing line inside the tree."""
    import traceback

    from paddle_port_checks.config import load_config
    from paddle_port_checks.factories import add_workspace_to_path, call_factory
    from paddle_port_checks.inputs import call_model, converted, fixed_inputs
    from paddle_port_checks.outputs import model_outputs

    root = root.resolve()
    result: dict[str, object] = {"model": spec, "ok": True, "file": None, "line": None, "text": "", "error": ""}
    try:
        config = load_config(config_path)
        add_workspace_to_path(config.root)
        import paddle

        model = call_factory(spec, "paddle.model", **kwargs)
        model.eval()
        with paddle.no_grad():
            outputs = model_outputs(call_model(model, converted(fixed_inputs(config).as_called, paddle.to_tensor)))
        result["outputs"] = {name: list(value.shape) for name, value in outputs.items()}
    except Exception as error:  # the converted code's fault: where it is, not a traceback
        # The exception's own line: the factory's note naming the config key is ours, not the fault.
        message = (str(error).strip().splitlines() or [""])[-1]
        result.update(ok=False, error=f"{type(error).__name__}: {message}" if message else type(error).__name__)
        places = [(f.filename, f.lineno, f.line) for f in traceback.extract_tb(error.__traceback__)]
        if isinstance(error, SyntaxError) and error.filename:  # the converted file does not compile
            places.append((error.filename, error.lineno, error.text))
        inside = [place for place in places if Path(place[0]).resolve().is_relative_to(root)]
        if inside:
            filename, line, text = inside[-1]
            result.update(file=Path(filename).resolve().relative_to(root).as_posix(), line=line)
            result["text"] = (text or "").strip()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paddle_port_checks.smoke", description=__doc__)
    parser.add_argument("dst", metavar="DST", help="the converted tree")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per module")
    parser.add_argument("--path", action="append", default=[], help="an import root after the tree (repeatable)")
    parser.add_argument("--forward", metavar="CONFIG", help="instead: one forward of --model on CONFIG's inputs")
    parser.add_argument("--model", default="", help="with --forward: the converted factory, module:callable")
    parser.add_argument("--kwargs", default="{}", help="with --forward: its keyword arguments, as JSON")
    args = parser.parse_args(argv)
    root = Path(args.dst)
    if not root.is_dir():
        print(f"smoke: {root}: not a folder", file=sys.stderr)
        return 2
    if args.forward:
        found = forward(root, Path(args.forward), args.model, json.loads(args.kwargs))
        print(json.dumps({"forward": found}) if args.json else f"forward of {args.model}: {found}")
        return 0 if found["ok"] else 1
    results = smoke_tree(root, timeout=args.timeout, paths=tuple(args.path))
    if args.json:
        print(json.dumps({"root": str(root.resolve()), "results": [asdict(item) for item in results]}, indent=2))
    else:
        for item in results:
            print(f"{item.file}: ok" if item.ok else f"{item.where}: {item.error}")
    return 0 if all(item.ok for item in results) else 1


if __name__ == "__main__":
    sys.exit(main())
