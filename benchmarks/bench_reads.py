"""What recording the reference's reads costs (issue 10, item 5): the demo's forward step with and without it.

The forward step runs as its script runs it (reference, Paddle side, comparison, explanation) with
`--fresh` (the reference computed, under recording or not, its reads digested), in one process, recording
switched on and off run by run so that a drifting machine load falls on both alike. Printed: medians of
the whole step and of its reference part (the golden cache's calls), with the ratio on/off; then the step
reused, and what checking the recorded reads costs of it. The audit hook, once installed, stays for the
life of the process; what it costs while nothing records is printed apart: the audit events of one step
times the hook's cost per event.

    python benchmarks/bench_reads.py [--repeat 5] [--workspace DIR]
Without --workspace the demo is copied to a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paddle_port_checks import golden, reads
from paddle_port_checks.session import run_check
from paddle_port_checks.steps import forward

REPO = Path(__file__).resolve().parents[1]
DEMO_FILES = ("demo_port", "lite_data", "lite_data.txt", "paddle_port.toml", "weights")
RECORDING = reads.recording


@contextmanager
def not_recording() -> Iterator[reads.Recording]:
    yield reads.Recording()


def nothing_read(cache: golden.GoldenCache, recording: reads.Recording) -> dict[str, dict[str, str]]:
    return {}


class StepTimer:
    """Runs the forward step and times it (CPU seconds of this process: the machine may be shared, and other
    processes' load inflates wall time run by run), its reference part (the outermost golden cache calls),
    and the machinery itself (the hook on the events it handles, the environment twin's notes, digesting).
    Off is the step as it was before reads were recorded: no recording, no process record, nothing digested
    (the hook, once installed, stays: its idle cost is measured apart)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.reference_s = self.machinery_s = 0.0
        self._depth = 0
        get_or_compute = golden.GoldenCache.get_or_compute

        def timed_get_or_compute(cache: golden.GoldenCache, *args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.process_time()
            try:
                return get_or_compute(cache, *args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:  # a reference computed inside another counts once
                    self.reference_s += time.process_time() - start

        golden.GoldenCache.get_or_compute = timed_get_or_compute  # type: ignore[method-assign]
        golden.GoldenCache.digest_reads = self.timed(golden.GoldenCache.digest_reads)  # type: ignore[method-assign]
        self.originals = (reads.recording, reads.watch, golden.GoldenCache.digest_reads)
        reads._note_variable_read = self.timed(reads._note_variable_read)
        on_audit_event, timed_event = reads._on_audit_event, self.timed(reads._on_audit_event)

        def audit_event(event: str, args: tuple[Any, ...]) -> None:
            if event in reads._WATCHED_EVENTS:  # the others cost what the idle hook costs
                timed_event(event, args)
            else:
                on_audit_event(event, args)

        reads._on_audit_event = audit_event  # installed by the first cache made, so wrapped before that

    def timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any) -> Any:
            start = time.perf_counter()  # sub-millisecond calls: the wall clock is the finer one
            try:
                return function(*args)
            finally:
                self.machinery_s += time.perf_counter() - start

        return timed_call

    def run(self, recording: bool, *extra: str) -> tuple[float, float, float]:
        if recording:
            reads.recording, reads.watch, golden.GoldenCache.digest_reads = self.originals  # type: ignore[method-assign]
        else:
            reads.recording, reads.watch = not_recording, lambda workspace: None  # type: ignore[assignment]
            golden.GoldenCache.digest_reads = nothing_read  # type: ignore[method-assign]
            reads._process_reads = reads._watched_workspace = None
        self.reference_s = self.machinery_s = 0.0
        argv = ["--config", str(self.workspace / "paddle_port.toml"), *extra]
        start = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            code = run_check("forward", self.workspace, forward.run, argv, after_compare=forward.explain)
        if code != 0:
            sys.exit(f"the forward step did not pass (exit {code}): the numbers would mean nothing")
        return time.process_time() - start, self.reference_s, self.machinery_s


IDLE_HOOK_COST = """
import time
from paddle_port_checks import reads

with reads.recording():
    pass  # installs the hook, which stays


def loop(function, count=500_000):
    start = time.perf_counter()
    for _ in range(count):
        function(None)
    return (time.perf_counter() - start) / count


print(loop(id) - loop(type))  # id() raises an audit event, type() none: the difference is the idle hook
"""


def hook_cost_per_event() -> float:
    """Seconds the installed, idle hook adds to one audit event, in a process of its own (this one's hook
    is wrapped by the StepTimer)."""
    done = subprocess.run([sys.executable, "-c", IDLE_HOOK_COST], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per mode and kind")
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()
    from paddle_port_tui.demo import make_checkpoint

    make_checkpoint(REPO, sys.executable)  # no-op when the repository's demo has its checkpoint
    with tempfile.TemporaryDirectory() as scratch:
        workspace = args.workspace or Path(scratch)
        if args.workspace is None:
            for name in DEMO_FILES:
                copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
                copy(REPO / name, workspace / name)
        timer = StepTimer(workspace)
        timer.run(True, "--fresh")  # warm-up: framework imports, first allocations
        samples: dict[tuple[str, bool], list[float]] = {}
        for turn in range(2 * args.repeat):
            recording = turn % 2 == 0
            figures = timer.run(recording, "--fresh")
            for kind, seconds in zip(("fresh", "fresh reference", "machinery"), figures, strict=True):
                samples.setdefault((kind, recording), []).append(seconds)
        timer.run(True, "--fresh")  # the entries reused below carry their recorded reads
        reused = [timer.run(True)[:2] for _ in range(args.repeat)]
        checks = [check_recorded_reads(workspace) for _ in range(args.repeat)]
        per_event = hook_cost_per_event()  # before the counting hook below joins it
        events = audit_events_of_one_step(timer)
    print("CPU seconds of the process, medians")
    for kind in ("fresh", "fresh reference"):
        off, on = statistics.median(samples[kind, False]), statistics.median(samples[kind, True])
        print(f"forward step, {kind:15}: recording off {off:.3f} s, on {on:.3f} s = {on / off:.3f}x")
    machinery, step = statistics.median(samples["machinery", True]), statistics.median(samples["fresh", True])
    print(f"recording itself in a fresh step: {machinery * 1e3:.2f} ms = {machinery / step:.2%} of the step")
    whole, reference = (statistics.median(column) for column in zip(*reused, strict=True))
    entries, check_s = checks[0][0], statistics.median(seconds for _, seconds in checks)
    print(
        f"forward step, reused: {whole:.3f} s, its reference part {reference * 1e3:.1f} ms, of which checking the "
        f"recorded reads of {entries} entries {check_s * 1e3:.2f} ms"
    )
    cost_ms = per_event * events * 1e3
    print(f"idle audit hook: {per_event * 1e9:.0f} ns per event x {events} events per fresh step = {cost_ms:.2f} ms")
    return 0


def check_recorded_reads(workspace: Path) -> tuple[int, float]:
    """The entries in the workspace's cache and the seconds it takes to check what they recorded."""
    cache = golden.GoldenCache(workspace / "result" / "cache")
    recorded = [json.loads(meta.read_text()).get("reads", {}) for meta in sorted(cache.directory.glob("*.json"))]
    start = time.perf_counter()
    assert not any(cache.changed_read(entry) for entry in recorded)
    return len(recorded), time.perf_counter() - start


def audit_events_of_one_step(timer: StepTimer) -> int:
    count = [0]

    def counter(event: str, args: tuple[Any, ...]) -> None:
        count[0] += 1

    sys.addaudithook(counter)  # the last thing this process does with hooks: it cannot be removed
    timer.run(True, "--fresh")
    return count[0]


if __name__ == "__main__":
    sys.exit(main())
