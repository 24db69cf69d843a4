"""What a detached run costs: a run hosted by its own process and followed through its feed file (`FlowRun`, what
`paddle-port run` and the wizard do) against the runner driven in-process (`StepsRun`, no host, no feed), on fake
checks, measured alternately in one run so the machine's noise hits both alike.

Prints per case the medians and the ratio hosted / in-process: a quick step (the host's start-up and the
feed's polling show), and a flood of 100 000 output lines (every line written to the log, the feed, and read
back by the face).

Usage: python benchmarks/bench_detached.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_checks import FakeCheck, write_fake_workspace  # noqa: E402

from paddle_port_tui.flow import FlowListener, FlowRun  # noqa: E402
from paddle_port_tui.runner import RunListener, StepsRun  # noqa: E402
from paddle_port_tui.state import load_state  # noqa: E402
from paddle_port_tui.workspace import Workspace  # noqa: E402


def hosted(ws: Workspace) -> float:
    started = time.perf_counter()
    FlowRun(ws, ["forward"], "cpu", load_state(ws), listener=FlowListener()).run()
    return time.perf_counter() - started


def in_process(ws: Workspace) -> float:
    started = time.perf_counter()
    StepsRun(ws, ["forward"], "cpu", listener=RunListener()).run()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, check in (("quick step", FakeCheck("pass")), ("100k lines", FakeCheck("pass", lines=100_000))):
            ws = write_fake_workspace(Path(folder) / name.replace(" ", "_"), {"forward": check})
            hosted(ws), in_process(ws)  # warm: the first run writes the scripts and the caches
            times: dict[str, list[float]] = {"hosted": [], "in-process": []}
            for _ in range(args.repeat):
                times["hosted"].append(hosted(ws))
                times["in-process"].append(in_process(ws))
            host, local = (statistics.median(times[key]) for key in ("hosted", "in-process"))
            figures = f"hosted {host * 1000:7.0f} ms, in-process {local * 1000:7.0f} ms"
            print(f"{name:>11}: {figures}, ratio {host / local:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
