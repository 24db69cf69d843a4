"""One run of one check script: arguments, config, devices, the step's computation, verdict, evidence, exit code.

Every generated script ends in `sys.exit(run_check("forward", ROOT, ...))`. This module owns what all
steps share, so each step module only says what it computes on each side (an `Outcome`). The result is a
`schema.StepResult`, the record the app reads back. `run_check` may be called many times in one process
(the app's worker runs a whole invocation's steps there, frameworks imported once): it keeps no state
between calls beyond the frameworks' own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks import events
from paddle_port_checks.atomic import WriteError
from paddle_port_checks.catalogue import STEP_BY_ID
from paddle_port_checks.compare import KeyDiff, all_passed, compare, near_zero_warning
from paddle_port_checks.config import Config, ConfigError, load_config
from paddle_port_checks.context import CheckContext
from paddle_port_checks.delivery import deliver_run, earlier_results_files, final_path, staging_dir, step_files
from paddle_port_checks.device import DeviceError, parse_device
from paddle_port_checks.evidence import save_arrays, write_diff_log
from paddle_port_checks.factories import FactoryError, add_workspace_to_path
from paddle_port_checks.mapping import MappingError
from paddle_port_checks.metric_values import MetricError
from paddle_port_checks.models import WeightsError
from paddle_port_checks.samples import SamplesError
from paddle_port_checks.schema import Divergence, Event, Finding, StepResult, WeightMapping
from paddle_port_checks.written import clear_for_rewrite

__all__ = ["CheckContext", "Outcome", "run_check", "EXIT_PASSED", "EXIT_FAILED", "EXIT_ERROR"]

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
# Problems of the porter's set-up, reported as one clear line rather than a traceback.
SETUP_ERRORS = (
    ConfigError,
    FactoryError,
    SamplesError,
    FileNotFoundError,
    DeviceError,
    MappingError,
    WeightsError,
    MetricError,
    WriteError,
)


@dataclass
class Outcome:
    """What a step computed: both sides' arrays, plus anything the step wants in its result."""

    ref: dict[str, np.ndarray]
    paddle: dict[str, np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # key -> why it fails beyond the numbers
    thresholds: dict[str, float] = field(default_factory=dict)  # per-key overrides of the step threshold
    methods: dict[str, str] = field(default_factory=dict)  # per-key overrides of the step's method
    float_outputs: set[str] = field(default_factory=set)  # model outputs, checked for a near-zero reference
    lint: list[Finding] = field(default_factory=list)
    first_divergence: Divergence | None = None
    mapping: WeightMapping | None = None
    # Keys compared (statistics in the diff log and the result) whose arrays are not saved as evidence while they
    # pass: a whole model's tensors (the backward step's gradients and parameters: 2 x 90 MB a run for a ResNet-18).
    unsaved: set[str] = field(default_factory=set)
    # What the step hands its after_compare (a model it already built), never saved.
    handed: dict[str, Any] = field(default_factory=dict)


StepFunction = Callable[[CheckContext], Outcome]


def _arguments(argv: list[str] | None, root: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A paddle-port check: compares the reference and the Paddle twin.")
    parser.add_argument("--config", type=Path, default=root / "paddle_port.toml", help="the workspace config")
    parser.add_argument("--device", default="", help="cpu, gpu or gpu:N (default: [run] device of the config)")
    parser.add_argument("--reference-device", default="", help="device of the PyTorch side (default: --device)")
    parser.add_argument("--fresh", action="store_true", help="recompute the reference side even if cached")
    parser.add_argument("--run-id", default="", help=argparse.SUPPRESS)  # set by the app, kept in the result
    return parser.parse_args(argv)


def run_check(
    step: str,
    root: Path,
    compute: StepFunction,
    argv: list[str] | None = None,
    after_compare: Callable[[CheckContext, Outcome, list[KeyDiff]], None] | None = None,
) -> int:
    """Run one step end to end and return the exit code (0 passed, 1 failed, 2 error)."""
    args = _arguments(argv, root)
    started = time.monotonic()
    add_workspace_to_path(root)
    result = StepResult(
        step=step,
        status="error",
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        run_id=args.run_id or None,
    )
    result_dir = root / "result"
    moved: list[str] = []  # notes on files of the porter's moved out of the way
    context: CheckContext | None = None
    staged: list[Path] = []  # what this run wrote, in its staging folder, delivered at its end (delivery)
    staging_name = args.run_id or uuid.uuid4().hex  # a check run by hand stages under an id of its own
    try:
        config = load_config(args.config)
        apply_environment(config)
        result_dir = config.root / "result"
        # Strangers move now; the last run's evidence stays whole until this run delivers its own.
        moved = clear_for_rewrite(
            result_dir, step_files(config.root, step), earlier_results_files(config.root, step), remove_ours=False
        )
        for note in moved:
            print(f"note: {note}", flush=True)
        device = parse_device(args.device or config.device)
        reference_device = parse_device(args.reference_device or config.reference_device or str(device))
        context = CheckContext(step, config, device, reference_device, args.fresh)
        events.emit(Event("start", step, device=str(device)))
        print(f"paddle-port check '{step}' on {device} (reference on {reference_device})", flush=True)
        outcome = compute(context)
        diffs = _compare(context, outcome)
        if after_compare is not None:
            after_compare(context, outcome, diffs)
        staging = staging_dir(result_dir, staging_name)
        # A failing key's arrays are always saved: the evidence must let a reader redo the verdict.
        unsaved = outcome.unsaved - {diff.key for diff in diffs if not diff.passed}
        kept = [
            {key: value for key, value in side.items() if key not in unsaved} for side in (outcome.ref, outcome.paddle)
        ]
        if unsaved:
            outcome.details["unsaved_arrays"] = (
                f"{len(unsaved)} passing keys compared but not saved in the evidence arrays (their statistics are in "
                "the diff log and this result): whole-model tensors"
            )
        staged += save_arrays(staging, STEP_BY_ID[step].arrays_stem, *kept)
        staged.append(write_diff_log(staging, step, diffs))
        result.status = "passed" if all_passed(diffs) else "failed"
        result.keys = diffs
        landing = [final_path(result_dir, staging, path) for path in staged]
        result.evidence = [str(path.relative_to(config.root)) for path in landing]
        result.log = str(landing[-1].relative_to(config.root))
        result.details = outcome.details
        result.lint, result.first_divergence, result.mapping = outcome.lint, outcome.first_divergence, outcome.mapping
    except SETUP_ERRORS as error:
        result.error = str(error)
        print(f"error: {error}", file=sys.stderr, flush=True)
    except Exception as error:  # a crash in the porter's code: keep the traceback's end for the app
        lines = traceback.format_exception(error)
        result.error = "".join(lines[-12:]).strip()
        traceback.print_exception(error)
    if context is not None:
        result.warnings = [*moved, *context.warnings]
        result.reference = context.reference
        result.environment = context.environment()
    result.duration_s = round(time.monotonic() - started, 3)
    try:
        path = deliver_run(result_dir, result, staged, staging_name)
    except WriteError as error:  # nowhere to put the result: the line on stderr and the exit code are all
        print(f"error: {error}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    events.emit(Event("result", step, status=result.status, path=str(path)))
    print(f"{step}: {result.status.upper()}", flush=True)
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(result.status, EXIT_ERROR)


def error_line(error: BaseException) -> str:
    """An exception's last line (where frameworks put the reason), shortened, for a one-line note."""
    return (str(error).strip().splitlines() or [type(error).__name__])[-1][:200]


def apply_environment(config: Config) -> None:
    """`[run] env` and `[run] pythonpath` for a check run by hand (the app's worker gets them at its start
    already, before any framework is imported, which some variables need), and the workspace root as the
    working directory: the porter's builders and programs open paths relative to it, as a port's own
    scripts do when run from the repo root."""
    os.chdir(config.root)
    os.environ.update(config.env)
    for root in reversed(config.import_roots()):
        entry = str(root)
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)


def _compare(context: CheckContext, outcome: Outcome) -> list[KeyDiff]:
    """The step's verdict per key, by the catalogue's method and threshold unless the step overrides them."""
    step = STEP_BY_ID[context.step]
    keys = set(outcome.ref) | set(outcome.paddle)
    thresholds: dict[str, float] = {}
    allclose: dict[str, tuple[float, float]] = {}
    for key in keys:
        # The porter's word on a key wins over the step's own per-key setting, which wins over the step's.
        tolerance, names_key = context.config.tolerance(step.id, key)
        thresholds[key] = outcome.thresholds.get(key, context.config.threshold(step.id))
        if tolerance is not None and tolerance.threshold is not None and names_key:
            thresholds[key] = tolerance.threshold
        if tolerance is not None and tolerance.allclose is not None and (names_key or key not in outcome.thresholds):
            allclose[key] = tolerance.allclose
    methods = {key: outcome.methods.get(key, step.method) for key in keys}
    diffs = compare(outcome.ref, outcome.paddle, thresholds, methods, allclose)
    for diff in diffs:
        if diff.key in outcome.problems:
            diff.problem, diff.passed = outcome.problems[diff.key], False
        events.emit(Event("key", step.id, diff=diff))
    # Only float outputs say anything by their size: a zero accuracy or a zero bias is no warning sign.
    outputs = [diff for diff in diffs if diff.key in outcome.float_outputs]
    warning = near_zero_warning(outputs) if outputs else None
    if warning:
        context.warn(warning)
    return diffs
