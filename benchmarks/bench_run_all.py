"""What one worker per run buys: `paddle-port run --all` against one framework import, and against the old
way (one interpreter per step), all with every reference reused, measured alternately in one run.

Prints (goal from the foundation issue): `run --all` / one `import torch, paddle` <= 2.5x, and the
per-step-process baseline as the same ratio, so the gain is visible on whatever machine runs it.

Usage: python benchmarks/bench_run_all.py [--workspace DIR] [--repeat 3]
Without --workspace the demo is written to a temporary folder (and its references computed once).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench_cli import timed

from paddle_port_checks.catalogue import STEPS

CLI = [sys.executable, "-m", "paddle_port_tui"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None, help="a workspace (default: a fresh demo)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.workspace or Path(scratch) / "demo"
        if args.workspace is None:
            timed([*CLI, "demo", str(root), "--headless"])  # writes the demo and computes its references
        import_both = [sys.executable, "-c", "import torch, paddle"]
        run_all = [*CLI, "run", "--all", "--workspace", str(root)]
        per_step = [[sys.executable, step.script] for step in STEPS]
        rounds = []
        for _ in range(args.repeat):
            rounds.append((timed(import_both), timed(run_all), sum(timed(cmd, root) for cmd in per_step)))
        imports, workers, scripts = (statistics.median(column) for column in zip(*rounds, strict=True))
    print(f"import torch, paddle:            median {imports:.2f} s")
    ratio = workers / imports
    print(f"paddle-port run --all (1 worker): median {workers:.2f} s = {ratio:.2f}x the import (goal <= 2.5x)")
    print(f"one python per step (the old way): median {scripts:.2f} s = {scripts / imports:.2f}x the import")
    print(f"worker / per-step processes: {workers / scripts:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
