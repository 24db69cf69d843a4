"""One run of one check script: arguments, config, devices, weights, evidence, verdict, exit code.

Every generated script ends in `sys.exit(run_check("forward", ROOT, ...))`. This module owns what all
steps share, so each step module only says what it computes on each side. The reference side goes
through the golden cache: re-running a step after a fix to the Paddle code computes only the Paddle side.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import paddle_port_checks
from paddle_port_checks import events, golden
from paddle_port_checks.compare import KeyDiff, all_passed, compare, near_zero_warning
from paddle_port_checks.config import Config, ConfigError, load_config
from paddle_port_checks.device import (
    Device,
    DeviceError,
    apply_paddle,
    apply_torch,
    parse_device,
    prepare_environment,
)
from paddle_port_checks.evidence import save_arrays, write_diff_log, write_result
from paddle_port_checks.factories import FactoryError, add_workspace_to_path, call_factory
from paddle_port_checks.mapping import MappingError
from paddle_port_checks.samples import Sample, SamplesError, read_samples

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
# Problems of the porter's set-up, reported as one clear line rather than a traceback.
SETUP_ERRORS = (ConfigError, FactoryError, SamplesError, FileNotFoundError, DeviceError, MappingError)
# How each step decides: float outputs on the mean error (reprod_log's default), steps that must be exact
# on the max, so one wrong element among millions cannot pass.
PADDLE_DISTRIBUTIONS = ("paddlepaddle", "paddlepaddle-gpu")
STEP_METHODS = {"forward": "mean", "data": "max", "metric": "max", "weights": "max", "predict": "mean"}


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
    findings: dict[str, Any] = field(default_factory=dict)  # top-level result entries (first_divergence, lint)


class CheckContext:
    """The shared services of a step run: config, devices, samples, models, cache, events."""

    def __init__(self, step: str, config: Config, device: Device, reference_device: Device, fresh: bool) -> None:
        self.step = step
        self.config = config
        self.device = device
        self.reference_device = reference_device
        self.fresh = fresh
        self.result_dir = config.root / "result"
        self.cache = golden.GoldenCache(self.result_dir / "cache")
        self.warnings: list[str] = []
        # Where this step's reference came from (reused, fingerprint, torch build); empty until computed.
        self.reference: dict[str, Any] = {}
        self.determinism = prepare_environment(device, reference_device)
        self._torch_ready = self._paddle_ready = False
        self._samples: list[Sample] | None = None

    # --- small services -------------------------------------------------------------------------
    def stage(self, name: str, status: str) -> None:
        events.emit("stage", step=self.step, name=name, status=status)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        events.emit("warning", step=self.step, message=message)
        print(f"warning: {message}", flush=True)

    def samples(self) -> list[Sample]:
        if self._samples is None:
            self._samples = read_samples(
                self.config.resolve(self.config.data_list), self.config.resolve(self.config.data_root)
            )
        return self._samples

    def torch(self) -> Any:
        """Import torch once, seeded and set up deterministically for the reference device."""
        import torch

        if not self._torch_ready:
            self.determinism.update(
                {k: str(v) for k, v in apply_torch(self.reference_device, self.config.seed).items()}
            )
            self._torch_ready = True
        return torch

    def paddle(self) -> Any:
        import paddle

        if not self._paddle_ready:
            if self.device.is_gpu and not paddle.is_compiled_with_cuda():
                raise DeviceError(
                    f"the Paddle side runs on {self.device} but this paddle ({paddle.__version__}) is a CPU build: "
                    "install paddlepaddle-gpu, pick another device, or see `paddle-port doctor`"
                )
            self.determinism.update({k: str(v) for k, v in apply_paddle(self.device, self.config.seed).items()})
            self._paddle_ready = True
        return paddle

    # --- the reference side, through the golden cache ---------------------------------------------
    def weights_fingerprint(self) -> str:
        """What the reference weights depend on: model code and arguments, checkpoint, seed."""
        cfg, side = self.config, self.config.reference
        checkpoint = golden.file_digest(cfg.resolve(side.checkpoint)) if side.checkpoint else "seeded-init"
        return golden.fingerprint(
            [side.model, side.kwargs, golden.module_digest(side.model, cfg.root), checkpoint, cfg.seed]
        )

    def reference_fingerprint(self, *extra: Any) -> str:
        """Everything a reference result of this step depends on, plus the step's own extras."""
        cfg, side = self.config, self.config.reference
        parts = {
            "step": self.step,
            "weights": self.weights_fingerprint(),
            "side": [side.dataset, side.dataset_kwargs, side.metric],
            "code": [golden.module_digest(spec, cfg.root) for spec in (side.dataset, side.metric)],
            "device": str(self.reference_device),
            "checks": paddle_port_checks.__version__,
            "extra": extra,
        }
        return golden.fingerprint(parts)

    def reference_arrays(self, compute: Callable[[], Mapping[str, np.ndarray]], *extra: Any) -> dict[str, np.ndarray]:
        """The reference side of this step: reused from the cache when nothing it depends on changed."""
        key = self.reference_fingerprint(*extra)
        self.stage("reference", "running")
        arrays, origin = self.cache.get_or_compute(self.step, key, compute, fresh=self.fresh)
        self.reference = {**origin, "fingerprint": key, "device": str(self.reference_device)}
        self.stage("reference", "reused" if origin["reused"] else "computed")
        verb = "reused from" if origin["reused"] else "computed and saved to"
        print(f"reference outputs {verb} result/cache/{self.step}.npz (torch {origin['torch']})", flush=True)
        return arrays

    def reference_model(self, device: Device | None = None) -> Any:
        """The PyTorch model: seeded init, the configured checkpoint if any, eval mode, on its device
        (or on `device`: layer-by-layer work runs both models side by side on the Paddle side's device)."""
        torch = self.torch()
        target = device or self.reference_device
        if target.is_gpu and not torch.cuda.is_available():
            raise DeviceError(
                f"the reference runs on {target} but this torch ({torch.__version__}) sees no CUDA GPU: "
                "pick another device, or see `paddle-port doctor`"
            )
        side = self.config.reference
        torch.manual_seed(self.config.seed)
        model = call_factory(side.model, "reference.model", **side.kwargs)
        if side.checkpoint:
            from paddle_port_checks.convert import load_torch_checkpoint

            state = load_torch_checkpoint(self.existing(side.checkpoint, "reference.checkpoint"))
            missing, unexpected = model.load_state_dict(
                {k: torch.from_numpy(v) for k, v in state.items()}, strict=False
            )
            if missing or unexpected:
                raise ConfigError(
                    self.config.path,
                    "reference.checkpoint",
                    f"does not fit the reference model: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}",
                )
        return model.to(target.torch).eval()

    def existing(self, relative: str, key: str) -> Path:
        """A file named in the config, which must exist: the error names the key."""
        path = self.config.resolve(relative)
        if not path.is_file():
            raise ConfigError(self.config.path, key, f"file not found: {path}")
        return path

    def reference_state(self) -> dict[str, np.ndarray]:
        """The reference weights as numpy arrays, cached so the Paddle side can get them without torch."""

        def compute() -> dict[str, np.ndarray]:
            from paddle_port_checks.convert import torch_state_to_numpy

            return torch_state_to_numpy(self.reference_model().state_dict())

        arrays, _ = self.cache.get_or_compute("reference_state", self.weights_fingerprint(), compute, fresh=self.fresh)
        return arrays

    # --- the paddle side -----------------------------------------------------------------------------
    def paddle_model(self) -> Any:
        """The Paddle twin with the same weights: its own .pdparams if configured, else converted ones."""
        from paddle_port_checks.convert import convert_state_dict, load_into_paddle

        paddle = self.paddle()
        side = self.config.paddle
        model = call_factory(side.model, "paddle.model", **side.kwargs)
        if side.checkpoint:
            checkpoint = self.existing(side.checkpoint, "paddle.checkpoint")
            state = {k: np.asarray(v) for k, v in paddle.load(str(checkpoint)).items()}
        else:
            mapping = self.mapping()
            state, report = convert_state_dict(self.reference_state(), model, mapping)
            if not report.ok:
                advice = (
                    f"{self.config.weights_mapping} does not fit the two models any more: edit it, or delete it "
                    "and run the weights step to rebuild it"
                    if mapping is not None
                    else f"run the weights step: it maps by structure and writes {self.config.weights_mapping} "
                    "for you to review and edit"
                )
                raise WeightsError(
                    f"the reference weights do not convert completely to {side.model}:\n"
                    f"{_first_lines(report.summary(), 12)}\n{advice}"
                )
        load_report = load_into_paddle(model, state)
        if not load_report.ok:
            raise WeightsError(
                f"the Paddle model did not take every weight:\n{_first_lines(load_report.summary(), 12)}"
            )
        model.eval()
        return model

    def mapping(self) -> Any:
        """The porter's mapping file when present; None means map by name, then by structure."""
        from paddle_port_checks.mapping import load_mapping

        if self.config.resolve(self.config.weights_mapping).is_file():
            return load_mapping(self.config.resolve(self.config.weights_mapping))
        return None

    def environment(self) -> dict[str, Any]:
        return {
            "python": platform.python_version(),
            "torch": golden.framework_version("torch"),
            "paddle": next(
                (v for v in map(golden.framework_version, PADDLE_DISTRIBUTIONS) if v != "not installed"),
                "not installed",
            ),
            "device": str(self.device),
            "reference_device": str(self.reference_device),
            "torch_device": self.reference_device.torch,
            "paddle_device": self.device.paddle,
            "seed": self.config.seed,
            "determinism": self.determinism,
        }


class WeightsError(RuntimeError):
    """The Paddle model could not be given the reference weights: a set-up error, not a numeric failure."""


StepFunction = Callable[[CheckContext], Outcome]


def _arguments(argv: list[str] | None, root: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A paddle-port check: compares the reference and the Paddle twin.")
    parser.add_argument("--config", type=Path, default=root / "paddle_port.toml", help="the workspace config")
    parser.add_argument("--device", default="", help="cpu, gpu or gpu:N (default: [run] device of the config)")
    parser.add_argument("--reference-device", default="", help="device of the PyTorch side (default: --device)")
    parser.add_argument("--fresh", action="store_true", help="recompute the reference side even if cached")
    return parser.parse_args(argv)


def _status_line(status: str) -> str:
    return {"passed": "PASSED", "failed": "FAILED", "error": "ERROR"}[status]


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
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    add_workspace_to_path(root)
    result: dict[str, Any] = {
        "schema": 1,
        "step": step,
        "status": "error",
        "keys": [],
        "evidence": [],
        "log": None,
        "warnings": [],
        "details": {},
        "error": None,
        "started_at": started_at,
    }
    result_dir = root / "result"
    context: CheckContext | None = None
    try:
        config = load_config(args.config)
        result_dir = config.root / "result"
        _forget_evidence(result_dir, step)
        device = parse_device(args.device or config.device)
        reference_device = parse_device(args.reference_device or config.reference_device or str(device))
        context = CheckContext(step, config, device, reference_device, args.fresh)
        events.emit("start", step=step, device=str(device))
        print(f"paddle-port check '{step}' on {device} (reference on {reference_device})", flush=True)
        outcome = compute(context)
        keys = set(outcome.ref) | set(outcome.paddle)
        thresholds = {key: outcome.thresholds.get(key, config.threshold(step)) for key in keys}
        methods = {key: outcome.methods.get(key, STEP_METHODS[step]) for key in keys}
        diffs = compare(outcome.ref, outcome.paddle, thresholds, methods)
        for diff in diffs:
            if diff.key in outcome.problems:
                diff.problem, diff.passed = outcome.problems[diff.key], False
        for diff in diffs:
            events.emit("key", step=step, diff=diff.to_json())
        # Only float outputs say anything by their size: a zero accuracy or a zero bias is no warning sign.
        outputs = [diff for diff in diffs if diff.key in outcome.float_outputs]
        warning = near_zero_warning(outputs) if outputs else None
        if warning:
            context.warn(warning)
        if after_compare is not None:
            after_compare(context, outcome, diffs)
        evidence = save_arrays(result_dir, step, outcome.ref, outcome.paddle)
        log_path = write_diff_log(result_dir, step, diffs)
        result.update(
            {
                "status": "passed" if all_passed(diffs) else "failed",
                "keys": [diff.to_json() for diff in diffs],
                "evidence": [str(path.relative_to(config.root)) for path in [*evidence, log_path]],
                "log": str(log_path.relative_to(config.root)),
                "details": outcome.details,
                **outcome.findings,
            }
        )
    except SETUP_ERRORS + (WeightsError,) as error:
        result["error"] = str(error)
        print(f"error: {error}", file=sys.stderr, flush=True)
    except Exception as error:  # a crash in the porter's code: keep the traceback's end for the app
        lines = traceback.format_exception(error)
        result["error"] = "".join(lines[-12:]).strip()
        traceback.print_exception(error)
    if context is not None:
        result["warnings"] = context.warnings
        result["reference"] = context.reference
        result["environment"] = context.environment()
    result["duration_s"] = round(time.monotonic() - started, 3)
    path = write_result(result_dir, step, result)
    events.emit("result", step=step, status=result["status"], path=str(path))
    print(f"{step}: {_status_line(result['status'])}", flush=True)
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(result["status"], EXIT_ERROR)


def _forget_evidence(result_dir: Path, step: str) -> None:
    """Evidence always belongs to the latest result: a run that errors must not leave the last one's behind."""
    for path in (
        result_dir / f"{step}_paddle.npy",
        result_dir / f"{step}_ref.npy",
        result_dir / "log" / f"{step}_diff.log",
    ):
        path.unlink(missing_ok=True)


def _first_lines(text: str, count: int) -> str:
    """A long report cut to its head, saying how much was left out (the result JSON has it all)."""
    lines = text.splitlines()
    if len(lines) <= count:
        return text
    return "\n".join([*lines[:count], f"  ... and {len(lines) - count} more lines"])
