"""Checkpoint 1: the same fixed input through both models, same weights, eval mode; compare the outputs."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.atomic import write_json_atomic
from paddle_port_checks.compare import KeyDiff, all_passed
from paddle_port_checks.inputs import call_model
from paddle_port_checks.outputs import model_outputs, pair_outputs
from paddle_port_checks.schema import Divergence, Finding, from_json, to_json
from paddle_port_checks.session import CheckContext, Outcome

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
    return Outcome(ref=ref, paddle=ours, float_outputs=set(ref) | set(ours))


def _source(function: Any) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return getattr(function, "__qualname__", repr(function))


def _lint_key(context: CheckContext) -> str:
    """Lint depends on the two models' structure only: the reference weights' key and the Paddle code."""
    side = context.config.paddle
    return golden.fingerprint(
        [context.weights_fingerprint(), side.model, side.kwargs, golden.module_digest(side.model, context.config.root)]
    )


def explain(context: CheckContext, outcome: Outcome, diffs: list[KeyDiff]) -> None:
    """Why and where: pitfall lint on every paired layer (even when the outputs agree: a BatchNorm momentum
    mismatch is invisible in eval mode but ruins training), and on failure the first divergent layer."""
    failed = not all_passed(diffs)
    cache = context.result_dir / "cache" / "lint.json"
    key = _lint_key(context)
    try:
        stored = json.loads(cache.read_text())
    except (OSError, ValueError):
        stored = {}
    if not failed and stored.get("key") == key:
        findings = [from_json(Finding, raw) for raw in stored["findings"]]
    else:
        from paddle_port_checks.lint import lint

        context.stage("lint", "running")
        torch_model, paddle_model = context.reference_model(context.device), context.paddle_model()
        findings = lint(torch_model, paddle_model)
        write_json_atomic(cache, {"key": key, "findings": [finding.to_json() for finding in findings]})
        if failed:
            _localize(context, outcome, torch_model, paddle_model)
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


def _localize(context: CheckContext, outcome: Outcome, torch_model: Any, paddle_model: Any) -> None:
    from paddle_port_checks.localize import localize

    context.stage("localize", "running")
    threshold = context.config.threshold("forward")
    result = localize(torch_model, paddle_model, context.inputs().as_called, atol=threshold)
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
