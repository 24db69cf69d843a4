"""Run several check scripts in one process, so each framework is imported (and warmed) once per invocation.

`paddle-port run --all` used to start one interpreter per step, and each imported torch and paddle again:
5.4x one framework import for the demo with every reference reused, minutes per step on a large model.
The app now starts this worker once, with the scripts of the steps it wants in order:

    python -u -m paddle_port_checks.worker --marker NONCE [--device D] [--fresh] \
        forward=test_tipc/01_test_forward.py data=test_tipc/02_test_data.py ...

Each script runs as the porter's own file, exactly as `python test_tipc/<script>.py` would run it
(`__name__ == "__main__"`, its folder first on `sys.path`, its own argv), so a porter's edits count and a
script run by hand behaves the same. Around each script the worker prints a marker line that carries the
app's nonce, so the app can tell which step an output line belongs to and when a step ended; a porter's
output cannot forge one. A script that crashes the interpreter (a segfault, an abort) takes the worker
with it: the app reports that step as an error and starts a new worker for the steps that remain.
"""

from __future__ import annotations

import argparse
import gc
import runpy
import sys
import traceback
from pathlib import Path

EXIT_ERROR = 2


def marker(nonce: str, what: str, step: str, code: int | None = None) -> str:
    """The line that opens (`begin`) or closes (`end`, with the exit code) a step's output."""
    suffix = "" if code is None else f":{code}"
    return f"{marker_prefix(nonce)}{what}:{step}{suffix}::"


def marker_prefix(nonce: str) -> str:
    """How every marker of this run begins."""
    return f"::paddle-port:{nonce}:"


def parse_marker(nonce: str, line: str) -> tuple[str, str, int | None] | None:
    """(what, step, code) of a marker line of this run, or None for any other line."""
    prefix = marker_prefix(nonce)
    if not (line.startswith(prefix) and line.endswith("::")):
        return None
    what, _, rest = line[len(prefix) : -2].partition(":")
    step, _, code = rest.partition(":")
    if what not in ("begin", "end") or not step:
        return None
    return what, step, int(code) if code.lstrip("-").isdigit() else None


def run_script(script: Path, argv: list[str]) -> int:
    """One script as `python script argv...` would run it; its exit code (2 for an escaped exception)."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
        return 0
    except SystemExit as done:
        code = done.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # sys.exit("message") prints the message and exits 1
        return 1
    except Exception:  # the script itself failed before it could report (an import error, a syntax error)
        traceback.print_exc()
        return EXIT_ERROR
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.stdout.flush()
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run paddle-port check scripts in one process.")
    parser.add_argument("--marker", required=True, help="the app's nonce for the step markers")
    parser.add_argument("--device", default="")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--run-id", default="", help="the app's run id; each step gets <run id>:<step>")
    parser.add_argument("scripts", nargs="+", metavar="STEP=SCRIPT")
    args = parser.parse_args(argv)
    worst = 0
    for item in args.scripts:
        step, _, script = item.partition("=")
        options = (["--device", args.device] if args.device else []) + (["--fresh"] if args.fresh else [])
        if args.run_id:
            options += ["--run-id", f"{args.run_id}:{step}"]
        print(marker(args.marker, "begin", step), flush=True)
        code = run_script(Path(script), options)
        print(marker(args.marker, "end", step, code), flush=True)
        worst = max(worst, code)
        gc.collect()  # the step's models go before the next step builds its own
    return worst


if __name__ == "__main__":
    sys.exit(main())
