"""Checkpoint 1: the same fixed input through both models, same weights, eval mode; compare the outputs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from paddle_port_checks import degenerate, replay
from paddle_port_checks.compare import KeyDiff, all_passed
from paddle_port_checks.inputs import ModelInputs, call_model
from paddle_port_checks.lint_cache import store_findings, stored_findings
from paddle_port_checks.outputs import model_outputs, pair_outputs
from paddle_port_checks.schema import Divergence, Finding, from_json, to_json
from paddle_port_checks.session import CheckContext, Outcome, error_line

# A forward hook of the generated script: (model, inputs) -> the output to compare (see outputs.model_outputs).
OutputsFn = Callable[[Any, Any], Any]


def default_outputs(model: Any, inputs: Any) -> Any:
    """The model's own output on the configured inputs; the script's copy is the porter's to edit."""
    return call_model(model, inputs)


def run(
    context: CheckContext, reference_outputs: OutputsFn = default_outputs, paddle_outputs: OutputsFn = default_outputs
) -> Outcome:
    inputs = context.inputs()

    def reference() -> dict[str, np.ndarray]:
        torch = context.torch()
        model = context.reference_model()
        device = context.reference_device.torch
        with torch.no_grad():
            return model_outputs(reference_outputs(model, inputs.converted(lambda a: torch.from_numpy(a).to(device))))

    # The reference hook's own code is part of what the golden outputs depend on; the paddle hook is not.
    ref = context.reference_arrays(reference, inputs.digest(), _source(reference_outputs))
    paddle = context.paddle()
    model = context.paddle_model()
    with paddle.no_grad():
        ours = model_outputs(paddle_outputs(model, inputs.converted(paddle.to_tensor)))
    ref, ours, notes = pair_outputs(ref, ours, context.config.output_names)
    for note in notes:
        context.warn(note)
    for warning in _degenerate(context, ref, ours, model, paddle_outputs):
        context.warn(warning)
    return Outcome(ref=ref, paddle=ours, float_outputs=set(ref) | set(ours))


def _degenerate(
    context: CheckContext, ref: dict[str, np.ndarray], ours: dict[str, np.ndarray], model: Any, hook: OutputsFn
) -> list[str]:
    """Constant outputs, and outputs that do not depend on the input: one more Paddle forward on another
    seeded input (see degenerate.py), its outputs named as `ours` are."""
    inputs, paddle = context.inputs(), context.paddle()

    def outputs_for(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with paddle.no_grad():
            moved = model_outputs(hook(model, ModelInputs(arrays, inputs.positional).converted(paddle.to_tensor)))
        return pair_outputs(ref, moved, context.config.output_names)[1]  # pairing the paired again: the same

    threshold = context.config.threshold("forward")
    return degenerate.forward_warnings(ref, ours, threshold, inputs.arrays, context.config.seed, outputs_for)


def _source(function: Any) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return getattr(function, "__qualname__", repr(function))


def explain(context: CheckContext, outcome: Outcome, diffs: list[KeyDiff]) -> None:
    """Why and where: float64 replay of a difference that is not bit-exact (noise, or math that differs:
    then the key fails whatever its threshold), pitfall lint on every paired layer (even when the outputs
    agree: a BatchNorm momentum mismatch is invisible in eval mode but ruins training), and on failure the
    first divergent layer — in float64 when only the replay could see the difference."""
    float32_failed = not all_passed(diffs)
    math_differs = float64_replay(context, outcome, diffs)
    failed = not all_passed(diffs)
    stored = None if failed else stored_findings(context)
    if stored is not None:
        findings = stored
    else:
        from paddle_port_checks.lint import lint

        context.stage("lint", "running")
        torch_model, paddle_model = context.reference_model(context.device), context.paddle_model()
        findings = lint(torch_model, paddle_model)
        store_findings(context, findings)
        if float32_failed:
            threshold = context.config.threshold("forward")
            _localize(context, outcome, torch_model, paddle_model, context.inputs().as_called, threshold)
        elif math_differs:
            torch64, paddle64 = replay.float64_models(torch_model, paddle_model)
            inputs64 = replay.as_float64(context.inputs().as_called)
            _localize(context, outcome, torch64, paddle64, inputs64, replay.LAYER_ATOL, replay.LAYER_RTOL)
    outcome.lint = findings
    print_lint(findings)


def print_lint(findings: list[Finding]) -> None:
    """One line per kind of mismatch, naming its layers: 20 BatchNorms with one momentum are one finding."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for finding in findings:
        what = (finding.attribute, repr(finding.torch_value), repr(finding.paddle_value), finding.why)
        groups.setdefault(what, []).append(finding.paddle_layer)
    for (attribute, torch_value, paddle_value, why), layers in groups.items():
        named = ", ".join(layers[:4]) + (f" and {len(layers) - 4} more" if len(layers) > 4 else "")
        print(f"lint: {attribute} torch={torch_value} paddle={paddle_value} in {named}: {why}", flush=True)


def float64_replay(context: CheckContext, outcome: Outcome, diffs: list[KeyDiff]) -> list[str]:
    """Replay both models in float64 on the CPU (see replay.py); the keys whose math differs."""
    bit_exact = "" if replay.needs_replay(diffs, outcome.float_outputs) else "every float output is bit-exact"
    reason = replay.not_run_because(context, bit_exact, context.paddle_model)
    if reason:
        outcome.details["float64_replay"] = reason
        return []
    context.stage("float64", "running")
    inputs = context.inputs()
    key = context.reference_fingerprint("float64", inputs.digest())
    torch_model = context.reference_model

    def reference64() -> dict[str, np.ndarray]:
        return replay.torch_float64_outputs(context.torch(), torch_model(), inputs.as_called)

    try:
        ref64, _ = context.cache.get_or_compute("forward_float64", key, reference64, fresh=context.fresh)
    except Exception as error:  # no float64 kernel on the reference side: nothing to measure against
        context.warn(f"float64 replay not run: the reference model does not run in float64 ({error_line(error)})")
        outcome.details["float64_replay"] = f"not run: the reference has no float64 ({error_line(error)})"
        return []
    paddle64: dict[str, np.ndarray] | None = None
    try:
        paddle64 = replay.paddle_float64_outputs(context.paddle(), context.paddle_model(), inputs.as_called)
    except Exception as error:  # an op without a float64 kernel (Paddle 3.3: LSTM/GRU cannot be cast)
        reason = error_line(error)
        context.warn(
            f"float64 replay: the Paddle model does not run in float64 ({reason}); its float32 difference "
            "is reported as a multiple of the reference's float32 noise floor instead"
        )
    ref64, paired64 = replay.paired(ref64, paddle64 or dict(outcome.paddle), context.config.output_names)
    failed = replay.judge(diffs, outcome.ref, ref64, paired64 if paddle64 is not None else None, outcome.float_outputs)
    replay.record(context, outcome.details, diffs, failed)
    return failed


def _localize(
    context: CheckContext,
    outcome: Outcome,
    torch_model: Any,
    paddle_model: Any,
    inputs: Any,
    atol: float,
    rtol: float = 1e-4,
) -> None:
    from paddle_port_checks.localize import localize

    context.stage("localize", "running")
    result = localize(torch_model, paddle_model, inputs, atol=atol, rtol=rtol)
    report = result.to_json()
    first = result.first_divergence_json()
    if first is not None:
        # The chart's points: the difference at every paired layer along the depth.
        first["layers"] = [
            {
                "index": layer["index"],
                "reference": layer["reference_layer"],
                "paddle": layer["paddle_layer"],
                "type": layer["reference_type"],
                "mean": layer["mean"],
                "rel": layer["rel"],
                "diverged": layer["diverged"],
                "problem": layer["problem"],
            }
            for layer in report["layers"]
        ]
        outcome.first_divergence = from_json(Divergence, to_json(first), "first_divergence")
    outcome.details["localization"] = {k: v for k, v in report.items() if k not in ("layers", "first_divergence")}
    for warning in result.warnings:
        context.warn(warning)
    divergence = outcome.first_divergence
    if divergence is not None:
        print(
            f"first divergence: reference {divergence.reference_layer} ({divergence.reference_type}) / "
            f"paddle {divergence.paddle_layer} ({divergence.paddle_type}): verdict {divergence.verdict}",
            flush=True,
        )
        if divergence.location:
            print(f"the difference is born {divergence.location}", flush=True)
