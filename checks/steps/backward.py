"""Checkpoint 7: N training iterations on both sides from the same weights, in the configured [train] mode.

Per iteration `loss_i` and `lr_i` (the tutorials' `losses_*.npy`); the gradient of every parameter at
iteration 0 and, after the last iteration, every parameter and buffer and the eval-mode output, all through
the weight mapping (Linear transposed by the Paddle layer's type). BatchNorm running variances are compared in
Paddle's convention (``batchnorm_convention.py``), and so is the eval output, which moves with them; how far
torch's own convention would have put them apart is reported beside, so the drift is explained, not hidden.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from paddle_port_checks import replay
from paddle_port_checks.batchnorm_convention import PaddleConventionVariance
from paddle_port_checks.compare import KeyDiff
from paddle_port_checks.lint_cache import store_findings, stored_findings
from paddle_port_checks.lint_training import lint_training
from paddle_port_checks.outputs import pair_outputs
from paddle_port_checks.session import CheckContext, Outcome, error_line
from paddle_port_checks.steps.forward import print_lint
from paddle_port_checks.training import LABELS_KEY, training_identity
from paddle_port_checks.training_sides import PaddleTraining, TorchTraining, Trace, iterate

# The reference's arrays (torch names) under these prefixes: what is compared once converted to Paddle names,
STATE, GRAD, EVAL = "state/", "grad/", "eval/"
# and what is not: its training objects' settings (for the lint), the smallest BatchNorm batch, torch's own
# running variances and eval output (for the drift figures).
FACTS, SMALLEST_N, OWN_VARIANCE, OWN_EVAL = "facts", "smallest_n", "torch_running_var/", "torch_eval/"
# A learning rate is a schedule's exact arithmetic: equal up to float64 rounding, whatever its size.
LR_RTOL = 1e-6
UNTRAINED = "untrained_paddle_model"  # Outcome.handed: the twin as built, before the iterations


def _reference(context: CheckContext, model: Any, float64: bool = False) -> dict[str, np.ndarray]:
    """The reference's iterations and what is compared after them, by torch name (see the prefixes above)."""
    side = TorchTraining(context, model, float64)
    variance = PaddleConventionVariance(model)
    trace = iterate(side, context.config.train_iterations)
    variance.remove()
    state = side.state()
    arrays = {**_trace_arrays(trace), **{GRAD + name: value for name, value in trace.gradients.items()}}
    for name, path in variance.state_names().items():
        arrays[OWN_VARIANCE + name] = state[name]
        state[name] = variance.tracked[path].detach().cpu().numpy()
    arrays.update({STATE + name: value for name, value in state.items()})
    if not float64:  # torch's own eval output is for the drift figures, which the replay does not redo
        arrays.update({OWN_EVAL + name: value for name, value in side.eval_outputs().items()})
    with variance.swapped_in():
        arrays.update({EVAL + name: value for name, value in side.eval_outputs().items()})
    assert side.labels is not None  # made by the first loss
    arrays[LABELS_KEY] = side.labels
    arrays[FACTS] = np.asarray(json.dumps(side.describe()))
    arrays[SMALLEST_N] = np.asarray(variance.smallest_n or 0)
    return arrays


def run(context: CheckContext) -> Outcome:
    identity = training_identity(context.config, context.reference_code)
    cached = context.reference_arrays(
        lambda: _reference(context, context.reference_model()), context.inputs().digest(), identity
    )
    model = context.own_paddle_model()
    # Kept before training, for the layer lint and a float64 replay: building the twin again costs more than
    # the copy (the demo's ResNet-18: 1.1 s, its initializers and the converted weights, against 0.05 s).
    untrained = copy.deepcopy(model)
    side = PaddleTraining(context, model, cached[LABELS_KEY])
    outcome = _compared(context, cached, side, context.warn)
    outcome.handed[UNTRAINED] = untrained
    outcome.unsaved = {key for key in outcome.ref if key.startswith(("grad/", "param/", "buffer/"))}
    for key, value in outcome.ref.items():
        if key.startswith("lr_"):
            outcome.thresholds[key], outcome.methods[key] = LR_RTOL * abs(float(value)), "max"
    facts = {"reference": json.loads(str(cached[FACTS])), "paddle": side.describe()}
    # The rates each side's iterations used: a scheduler that never moves them shows only here.
    for name, arrays in (("reference", outcome.ref), ("paddle", outcome.paddle)):
        facts[name]["learning_rates"] = [float(arrays[f"lr_{i}"]) for i in range(context.config.train_iterations)]
    outcome.details["training"] = {
        "iterations": context.config.train_iterations,
        "mode": context.config.train_mode,
        **facts,
    }
    outcome.lint = [*_layer_findings(context, untrained), *lint_training(facts["reference"], facts["paddle"])]
    return outcome


def _compared(context: CheckContext, cached: Any, side: PaddleTraining, warn: Callable[[str], None]) -> Outcome:
    """The Paddle side's iterations, and both sides' arrays under the compared keys (Paddle names)."""
    trace = iterate(side, context.config.train_iterations)
    ours = _trace_arrays(trace)
    outcome = Outcome(ref={key: cached[key] for key in ours}, paddle=ours)
    _tensors(context, outcome, cached, side, trace)
    _eval(context, outcome, cached, side.eval_outputs(), warn)
    return outcome


def _trace_arrays(trace: Trace) -> dict[str, np.ndarray]:
    """`loss_i` and `lr_i` in iteration order, as the tutorials' losses_*.npy hold them."""
    arrays: dict[str, np.ndarray] = {}
    for index, (loss, rate) in enumerate(zip(trace.losses, trace.learning_rates, strict=True)):
        arrays[f"loss_{index}"] = loss
        arrays[f"lr_{index}"] = np.asarray(rate, dtype=np.float64)
    return arrays


def _prefixed(arrays: Any, prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: arrays[key] for key in arrays if key.startswith(prefix)}


def _tensors(context: CheckContext, outcome: Outcome, cached: Any, side: PaddleTraining, trace: Trace) -> None:
    """Gradients at iteration 0, then every parameter and buffer after the last iteration, by Paddle name in the
    Paddle model's order, the reference's converted through the weight mapping."""
    from paddle_port_checks.convert import convert_state_dict
    from paddle_port_checks.mapping import build_mapping_from_state

    state = _prefixed(cached, STATE)
    model = side.model
    mapping = context.mapping() or build_mapping_from_state({k: tuple(v.shape) for k, v in state.items()}, model)
    expected, report = convert_state_dict(state, model, mapping)
    # Gradients have their parameters' names and shapes: converted as a state whose parameters are the gradients.
    gradients, _ = convert_state_dict({**state, **_prefixed(cached, GRAD)}, model, mapping)
    own_variance = _prefixed(cached, OWN_VARIANCE)
    torch_own, _ = convert_state_dict({**state, **own_variance}, model, mapping)
    trainable = side.trainable()
    final = side.state()
    for name in final:
        if name in trainable and name in gradients:
            outcome.ref[f"grad/{name}"] = gradients[name]
            if name in trace.gradients:
                outcome.paddle[f"grad/{name}"] = trace.gradients[name]
            else:
                outcome.paddle[f"grad/{name}"] = np.zeros_like(gradients[name])
                outcome.problems[f"grad/{name}"] = f"paddle '{name}' has no gradient after iteration 0's backward"
    for name, value in final.items():
        if name in expected:
            key = f"{'param' if name in trainable else 'buffer'}/{name}"
            outcome.ref[key], outcome.paddle[key] = expected[name], value
    variances = [m.paddle_name for m in report.mapped if m.torch_name in own_variance and m.paddle_name in final]
    outcome.details["running_variance"] = _variance_drift(variances, expected, torch_own, final, cached)


def _variance_drift(
    names: list[str], expected: dict[str, np.ndarray], torch_own: dict[str, np.ndarray], final: Any, cached: Any
) -> dict[str, Any]:
    """How far the Paddle running variances are from torch's own (the n/(n-1) convention) and from the same in
    Paddle's convention (what is compared)."""

    def worst(reference: dict[str, np.ndarray]) -> tuple[float, float]:
        if not names:
            return 0.0, 0.0
        diffs = [np.abs(final[name].astype(np.float64) - reference[name]) for name in names]
        rels = [d / np.maximum(np.abs(reference[name]), 1e-12) for d, name in zip(diffs, names, strict=True)]
        return float(max(d.max() for d in diffs)), float(max(r.max() for r in rels))

    own_abs, own_rel = worst(torch_own)
    corrected_abs, corrected_rel = worst(expected)
    smallest = int(cached[SMALLEST_N])
    factor = f" (n = {smallest} elements per channel at the fewest: a factor {smallest / (smallest - 1):.4g})"
    return {
        "layers": len(names),
        "smallest_n": smallest,
        "torch_convention_max_abs": own_abs,
        "torch_convention_max_rel": own_rel,
        "paddle_convention_max_abs": corrected_abs,
        "paddle_convention_max_rel": corrected_rel,
        "why": "torch updates running_var with the unbiased batch variance (n/(n-1)), Paddle with the biased one; "
        "the reference is compared in Paddle's convention" + (factor if smallest > 1 else ""),
    }


def _eval(
    context: CheckContext,
    outcome: Outcome,
    cached: Any,
    paddle_eval: dict[str, np.ndarray],
    warn: Callable[[str], None],
) -> None:
    """The eval output after training, the reference's with its running variances in Paddle's convention; the
    distance from the reference's own eval output is the drift that convention alone explains."""
    names = context.config.output_names
    ref, ours, notes = pair_outputs(_prefixed(cached, EVAL), paddle_eval, names)
    for note in notes:
        warn(note)
    for name in ref:
        outcome.ref[f"eval/{name}"], outcome.paddle[f"eval/{name}"] = ref[name], ours[name]
        outcome.float_outputs.add(f"eval/{name}")
    torch_eval = _prefixed(cached, OWN_EVAL)
    if not torch_eval:  # a float64 replay's reference: the drift figures are the float32 run's
        return
    own, ours_again, _ = pair_outputs(torch_eval, paddle_eval, names)
    drift = {
        name: float(np.abs(own[name].astype(np.float64) - ours_again[name]).mean())
        for name in own
        if name in ours_again and own[name].shape == ours_again[name].shape
    }
    outcome.details["eval_drift_torch_convention"] = drift


def _layer_findings(context: CheckContext, paddle_model: Any) -> list[Any]:
    """The layer lint (BatchNorm momentum among it), from the forward step's cache while the models are the same;
    else of `paddle_model` (the lint runs no forward: a twin in training mode reads as one in eval mode)."""
    findings = stored_findings(context)
    if findings is None:
        from paddle_port_checks.lint import lint

        findings = lint(context.reference_model(context.device), paddle_model)
        store_findings(context, findings)
    return findings


def explain(context: CheckContext, outcome: Outcome, diffs: list[KeyDiff]) -> None:
    """Float64 replay of what failed in float32 (rounding noise passes, a real divergence stays failed); then
    where the runs part: the first iteration whose result differs (its loss or learning rate, or its update,
    seen in the next loss), the first gradient and the first parameter or buffer that differs; and why the eval
    output moved with the running variances' convention."""
    _float64_replay(context, outcome, diffs)
    failed = [diff.key for diff in diffs if not diff.passed]
    iterations = context.config.train_iterations
    parted = _first_iteration(failed, iterations)
    first_gradient = next((key for key in failed if key.startswith("grad/")), None)
    first_tensor = next((key for key in failed if key.startswith(("param/", "buffer/"))), None)
    outcome.details["first_divergence"] = {
        "iteration": parted[0] if parted else None,
        "key": parted[1] if parted else None,
        "gradient": first_gradient,
        "tensor": first_tensor,
    }
    if parted and parted[0] is not None:
        print(f"first divergent iteration: {parted[0]} ({parted[1]} differs)", flush=True)
    elif parted:
        print(f"losses and learning rates agree; after the last iteration {parted[1]} differs", flush=True)
    if first_gradient:
        print(f"first gradient that differs at iteration 0: {first_gradient[len('grad/') :]}", flush=True)
    if first_tensor:
        print(f"first parameter or buffer that differs after iteration {iterations - 1}: {first_tensor}", flush=True)
    variance = outcome.details.get("running_variance", {})
    if variance.get("layers"):
        print(
            f"running variances: {variance['torch_convention_max_abs']:.3g} apart in torch's convention, "
            f"{variance['paddle_convention_max_abs']:.3g} in Paddle's: {variance['why']}",
            flush=True,
        )
    for name, drift in outcome.details.get("eval_drift_torch_convention", {}).items():
        print(f"eval output {name}: {drift:.3g} mean apart from torch's own eval output (its running variances)")
    print_lint(outcome.lint)


def _first_iteration(failed: list[str], iterations: int) -> tuple[int | None, str] | None:
    """The first iteration whose result differs: its lr_i, its loss_i (iteration 0 only: later losses show the
    update of the iteration before), or its update, which loss_{i+1} shows. When only the tensors after the
    last iteration differ (running statistics move whatever the losses do), no iteration can be named."""
    for index in range(iterations):
        if f"lr_{index}" in failed:
            return index, f"lr_{index}"
        if index == 0 and "loss_0" in failed:
            return 0, "loss_0"
        if f"loss_{index + 1}" in failed:
            return index, f"loss_{index + 1} (the update of iteration {index})"
    tensor = next((key for key in failed if key.startswith(("param/", "buffer/", "eval/"))), None)
    return (None, tensor) if tensor else None


def _float64_replay(context: CheckContext, outcome: Outcome, diffs: list[KeyDiff]) -> None:
    """The same iterations again with both sides in float64 (models, losses, optimizer state, inputs) from the
    same weights, when a key failed in float32; each failing key judged as the forward step judges its
    outputs (replay.py). Three iterations of a deep net at batch 1 amplify float32 rounding past the 1e-5 a
    single forward is held to (the demo ResNet-18: loss_2 2e-5 apart, running variances 3e-5), while a
    faithful twin's float64 difference collapses by orders of magnitude and a real one does not move."""
    started = time.monotonic()  # the Paddle model built for sizing is the replay's own: counted in its time
    failing = {diff.key for diff in diffs if not diff.passed and diff.problem is None}
    built = functools.cache(context.own_paddle_model)  # sized for memory only when the replay would run

    def paddle32() -> Any:
        """The float32 twin before its iterations: the one `run` kept, else built again."""
        kept = outcome.handed.get(UNTRAINED)
        return kept if kept is not None else built()

    reason = replay.not_run_because(context, "" if failing else "every key agrees in float32", paddle32)
    if reason:
        outcome.details["float64_replay"] = reason
        return
    context.stage("float64", "running")
    identity = training_identity(context.config, context.reference_code)
    key = context.reference_fingerprint("float64", context.inputs().digest(), identity)

    def reference64() -> dict[str, np.ndarray]:
        return _reference(context, replay.torch_float64(context.reference_model()), float64=True)

    try:
        cached64, _ = context.cache.get_or_compute("backward_float64", key, reference64, fresh=context.fresh)
    except Exception as error:  # no float64 kernel on the reference side: nothing to measure against
        context.warn(f"float64 replay not run: the reference does not train in float64 ({error_line(error)})")
        outcome.details["float64_replay"] = f"not run: the reference has no float64 ({error_line(error)})"
        return
    try:
        side64 = PaddleTraining(context, replay.paddle_float64(paddle32()), cached64[LABELS_KEY], float64=True)
        replayed = _compared(context, cached64, side64, lambda note: None)  # its notes are the float32 run's
    except Exception as error:  # an op without a float64 kernel (Paddle 3.3: LSTM/GRU cannot be cast)
        # No floor to measure the port's float32 difference against here: the reference's float64 arrays
        # convert through the Paddle model's dtype, so the float32 verdict stands.
        context.warn(f"float64 replay not run: the Paddle side does not train in float64 ({error_line(error)})")
        outcome.details["float64_replay"] = f"not run: the Paddle side has no float64 ({error_line(error)})"
        return
    ratio = replay.TRAINING_MATH_DIFFERS_RATIO
    replay.judge(diffs, outcome.ref, replayed.ref, replayed.paddle, failing, noise_passes=True, ratio=ratio)
    replay.record(context, outcome.details, diffs, [])
    outcome.details["float64_replay_s"] = round(time.monotonic() - started, 3)
    noise = sorted(diff.key for diff in diffs if diff.key in failing and diff.passed)
    if noise:
        named = ", ".join(noise[:4]) + (f" and {len(noise) - 4} more" if len(noise) > 4 else "")
        print(f"float64 replay: float32 rounding noise, passed: {named}", flush=True)
    for diff in diffs:
        if diff.key in failing and not diff.passed and diff.float64_diff is not None:
            print(
                f"float64 replay: {diff.key} stays apart in float64 ({diff.float64_diff:.3g}): a real divergence",
                flush=True,
            )
