"""How much the CLI costs on top of the checks: `--help` time, CLI vs plain script, reused vs fresh reference.

Prints three figures (goals from issue 2):
  - `paddle-port --help`: median wall time of fresh processes (goal <= 0.3 s);
  - `paddle-port run STEP` / `python test_tipc/NN_test_STEP.py` in the same demo workspace, both warm,
    i.e. with the reference outputs cached (goal <= 1.05);
  - `paddle-port run STEP` re-run with reused reference outputs / the same with `--fresh` (goal well under 1).

Usage: python benchmarks/bench_cli.py [--workspace DIR] [--step forward] [--repeat 5] [--help-repeat 15]
Without --workspace the demo is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "paddle_port_tui"]


def timed(command: list[str], cwd: Path | None = None) -> float:
    """Wall time of one run; a failing command stops the benchmark (its numbers would mean nothing)."""
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-15:])
        sys.exit(f"benchmark command failed (exit {done.returncode}): {' '.join(command)}\n{tail}")
    return elapsed


def median_time(command: list[str], repeat: int, cwd: Path | None = None) -> float:
    return statistics.median(timed(command, cwd) for _ in range(repeat))


def paired_medians(first: list[str], second: list[str], repeat: int, cwd: Path | None = None) -> tuple[float, float]:
    """Medians of two commands run alternately, so load from other processes hits both alike."""
    times = [(timed(first, cwd), timed(second, cwd)) for _ in range(repeat)]
    return statistics.median(a for a, _ in times), statistics.median(b for _, b in times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None, help="a workspace (default: a fresh demo)")
    parser.add_argument("--step", default="forward")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measured check command")
    parser.add_argument("--help-repeat", type=int, default=15, help="runs of `paddle-port --help`")
    args = parser.parse_args()

    console_script = Path(sys.executable).with_name("paddle-port")
    help_command = [str(console_script)] if console_script.exists() else CLI
    help_s = median_time([*help_command, "--help"], args.help_repeat)
    print(f"paddle-port --help: median {help_s * 1000:.0f} ms over {args.help_repeat} runs (goal <= 300 ms)")

    from paddle_port_checks.catalogue import step_by_id

    step = step_by_id(args.step)
    with tempfile.TemporaryDirectory(prefix="paddle-port-bench-") as scratch:
        if args.workspace is None:
            from paddle_port_tui.demo import make_checkpoint, write_demo

            root = write_demo(Path(scratch) / "demo")
            make_checkpoint(root, sys.executable)
        else:
            root = args.workspace.resolve()
        run = [*CLI, "run", step.id, "--workspace", str(root)]
        timed(run)  # generates the script, fills the reference cache, warms the file cache
        direct_s, cli_s = paired_medians([sys.executable, step.script], run, args.repeat, cwd=root)
        fresh_s, reused_s = paired_medians([*run, "--fresh"], run, args.repeat)

    print(f"python {step.script}: median {direct_s:.2f} s (reference reused)")
    print(f"paddle-port run {step.id}: median {cli_s:.2f} s (reference reused)")
    print(f"  ratio CLI / direct script: {cli_s / direct_s:.3f} (goal <= 1.05)")
    print(f"paddle-port run {step.id} --fresh (reference recomputed): median {fresh_s:.2f} s")
    print(f"paddle-port run {step.id} (reference reused): median {reused_s:.2f} s")
    print(f"  ratio reused / fresh: {reused_s / fresh_s:.3f} (goal well under 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
