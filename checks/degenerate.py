"""Checks that pass but prove little, named: each detector returns a warning sentence for the porter, or None.

A comparison of two models is only as strong as the values it compares. Random weights on 1000 classes give
0 % accuracy on both sides and a top-1 probability of 0.0016 (uniform is 0.001); a zero-initialised head
gives the same logits for every input. Such a step passes whatever the port does, so a pass there must say
so, with what was seen, why it proves little and what makes it prove something. Pure numpy: the steps hand
over the arrays they compare (and, for the input probe, a function that runs the Paddle model again).
These are warnings only: a verdict never changes here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

# A metric at its floor or ceiling, by value: accuracy-like metrics are rates in [0, 1] or percentages.
METRIC_FLOOR = 0.0
METRIC_CEILINGS = (1.0, 100.0)
# A weighted mean of per-batch values that are all 0 or all 1 is exact in float64; a little slack for a
# porter's metric that averages in float32.
METRIC_SLACK = 1e-6
# Near uniform: the top-1 probability p carries less than this share of the most confidence C classes allow,
# log(p*C) <= UNIFORM_SHARE * log(C), i.e. p <= C**(UNIFORM_SHARE - 1). With 0.1 that is 2x uniform at
# C = 1000 (the 0.0016 against 0.001 warns), 1.26x at C = 10 and 0.54 at C = 2: a fixed "2x uniform"
# would be certainty at C = 2 and warn on every binary classifier.
UNIFORM_SHARE = 0.1
# Constant: every element equal up to a few float32 roundings of the largest one (float32 resolves 1.2e-7).
CONSTANT_SPREAD = 1e-6
# The second input of the forward probe comes from another stream than the fixed input's (seeded by `seed`).
PROBE_STREAM = 1

REAL_WEIGHTS = "load real trained weights ([reference] checkpoint)"
REAL_OUTPUTS = f"{REAL_WEIGHTS}, with real BatchNorm statistics, and a real input ([input] file)"


def _warning(noun: str, seen: list[str], finding: str, remedy: str) -> str | None:
    """One sentence on the keys seen (None when there are none): what was seen, why the check proves little,
    and what makes it prove something."""
    if not seen:
        return None
    subject = f"{noun} {seen[0]} is" if len(seen) == 1 else f"{noun}s {', '.join(seen)} are"
    return f"The {subject} {finding}, so this check proves little. Make it prove something: {remedy}."


def _scalar(value: Any) -> float | None:
    """A one-element numeric value as a float; None for anything else (an array, NaN, a string)."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        return None
    number = float(array.reshape(-1)[0])
    return number if np.isfinite(number) else None


def _both_at(ref: Mapping[str, Any], paddle: Mapping[str, Any], targets: Iterable[float]) -> list[tuple[str, float]]:
    """The keys whose single value is at one of `targets` on both sides, with that target."""
    found = []
    for key in ref:
        a, b = _scalar(ref[key]), _scalar(paddle.get(key))
        if a is None or b is None:
            continue
        target = next((t for t in targets if _at(a, t) and _at(b, t)), None)
        if target is not None:
            found.append((key, target))
    return found


def _at(value: float, target: float) -> bool:
    return abs(value - target) <= METRIC_SLACK * max(1.0, target)


def zero_metric_warning(ref: Mapping[str, Any], paddle: Mapping[str, Any]) -> str | None:
    """Metric keys that are 0 (0 %) on both sides: two models that get nothing right agree whatever the port
    does, and a port error cannot make a metric at its floor worse."""
    return _warning(
        "metric",
        [key for key, _ in _both_at(ref, paddle, [METRIC_FLOOR])],
        "0 on both sides: models that get no sample right agree whatever their code does (random or untrained "
        "weights do this)",
        f"{REAL_WEIGHTS}, converted for Paddle, so the metric has something to lose",
    )


def full_metric_warning(ref: Mapping[str, Any], paddle: Mapping[str, Any]) -> str | None:
    """Metric keys at their maximum (1.0 or 100) on both sides: every sample is right, so a port error that
    moves the scores without flipping a sample cannot show in the metric."""
    return _warning(
        "metric",
        [f"{key} = {target:g}" for key, target in _both_at(ref, paddle, METRIC_CEILINGS)],
        "at the maximum on both sides: every evaluated sample is right on both (as a top-k with k at least the "
        "number of classes always is), and a port error that moves the scores without flipping a sample cannot "
        "show here",
        "evaluate more or harder samples ([data] num_batches, a larger [data] list), and rely on the forward and "
        "predict checks for the scores themselves",
    )


def metric_warnings(ref: Mapping[str, Any], paddle: Mapping[str, Any]) -> list[str]:
    """The metric step's degenerate cases: keys at the metric's floor or ceiling on both sides."""
    found = (zero_metric_warning(ref, paddle), full_metric_warning(ref, paddle))
    return [warning for warning in found if warning]


def is_near_uniform(prob: Any, classes: int) -> bool:
    """Every row's top-1 probability within the UNIFORM_SHARE rule of 1/classes; False for one class, no
    rows or a NaN (nothing to say: the comparison names a NaN itself)."""
    top = np.asarray(prob, dtype=np.float64).reshape(-1)
    if classes < 2 or top.size == 0 or not np.all(np.isfinite(top)):
        return False
    return bool(np.all(top <= near_uniform_limit(classes)))


def near_uniform_limit(classes: int) -> float:
    return float(classes ** (UNIFORM_SHARE - 1.0))


def near_uniform_warning(key: str, reference_prob: Any, paddle_prob: Any, classes: int) -> str | None:
    """A prediction whose top-1 probability is near uniform on both sides: the model has no preference, so
    the probability hardly moves whatever the preprocessing does (a resize-filter bug passed this way)."""
    if not (is_near_uniform(reference_prob, classes) and is_near_uniform(paddle_prob, classes)):
        return None
    ref_top, paddle_top = (float(np.max(np.asarray(p, dtype=np.float64))) for p in (reference_prob, paddle_prob))
    return _warning(
        "prediction",
        [key],
        f"near uniform on both sides: the top-1 probability is {ref_top:.3g} in the reference and "
        f"{paddle_top:.3g} in paddle with {classes} classes (uniform is {1 / classes:.3g}, near uniform up to "
        f"{near_uniform_limit(classes):.3g}); a model with no preference gives the same class and probability "
        "whatever the preprocessing does",
        f"{REAL_WEIGHTS} and predict a real image ([predict] sample) of one of the classes",
    )


def _constant(array: np.ndarray) -> bool:
    if array.size < 2 or array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
        return False
    spread = float(np.max(array)) - float(np.min(array))
    return spread <= CONSTANT_SPREAD * float(np.max(np.abs(array)))


def constant_keys(ref: Mapping[str, Any], paddle: Mapping[str, Any], threshold: float) -> list[str]:
    """The keys constant on both sides (every element the same value) at the same value (within the
    threshold): the comparison sees one number, not the layers before it."""
    found = []
    for key in ref:
        if key not in paddle:
            continue
        a, b = np.asarray(ref[key]), np.asarray(paddle[key])
        same = a.shape == b.shape and _constant(a) and _constant(b)
        if same and abs(float(a.flat[0]) - float(b.flat[0])) <= threshold:
            found.append(key)
    return found


def constant_output_warning(ref: Mapping[str, Any], paddle: Mapping[str, Any], threshold: float) -> str | None:
    """Outputs constant and identical on both sides (e.g. all-zero logits of a zero-initialised head)."""
    arrays = {key: np.asarray(ref[key]) for key in constant_keys(ref, paddle, threshold)}
    return _warning(
        "output",
        [f"{key} (all {array.size} elements {float(array.flat[0]):.3g})" for key, array in arrays.items()],
        "constant and the same on both sides: the comparison checks one number, not the layers that should "
        "have made it (a zero-initialised head or a model that ignores its input does this)",
        REAL_OUTPUTS,
    )


def varied_inputs(arrays: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray] | None:
    """Another seeded input of the same names, shapes and dtypes, each value valid where the original's is:
    floats redrawn with the original's mean and spread, integers and flags within the original's range (token
    ids stay ids, a mask of ones stays ones). None when nothing could change (every input constant)."""
    rng = np.random.default_rng([seed, PROBE_STREAM])
    varied: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        varied[name] = array
        if array.size == 0 or array.dtype.kind not in "biuf":
            continue
        low, high = np.min(array), np.max(array)
        if low == high:
            continue  # a constant (a mask, a fill) is part of how the model is called: kept
        if array.dtype.kind == "f":
            mean, spread = float(np.mean(array)), float(np.std(array))
            varied[name] = (mean + spread * rng.standard_normal(array.shape)).astype(array.dtype)
        else:
            varied[name] = rng.integers(int(low), int(high), size=array.shape, endpoint=True).astype(array.dtype)
    changed = any(not np.array_equal(varied[name], array) for name, array in arrays.items())
    return varied if changed else None


def unmoved_keys(first: Mapping[str, Any], second: Mapping[str, Any], threshold: float) -> list[tuple[str, float]]:
    """The keys whose mean change between two inputs is within the threshold, with that change: a Paddle
    model that ignored its input would pass them (the forward rule is the mean difference)."""
    found = []
    for key in first:
        if key not in second:
            continue
        a, b = np.asarray(first[key]), np.asarray(second[key])
        if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            continue
        change = float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        if np.isfinite(change) and change <= threshold:
            found.append((key, change))
    return found


def ignored_input_warning(first: Mapping[str, Any], second: Mapping[str, Any], threshold: float) -> str | None:
    """Outputs that did not move (by more than the threshold) when the input was replaced by another one."""
    return _warning(
        "output",
        [f"{key} (mean change {change:.3g})" for key, change in unmoved_keys(first, second, threshold)],
        f"within the threshold {threshold:g} of what the Paddle model gives for a different seeded input: it "
        "does not depend on the input, and a twin that mishandled or ignored its input would pass (unless the "
        "output is meant to be fixed, like anchors)",
        REAL_OUTPUTS,
    )


Outputs = Mapping[str, np.ndarray]


def forward_warnings(
    ref: Outputs,
    paddle: Outputs,
    threshold: float,
    inputs: Mapping[str, np.ndarray],
    seed: int,
    outputs_for: Callable[[dict[str, np.ndarray]], Outputs],
) -> list[str]:
    """The forward step's degenerate cases: outputs constant and identical on both sides, and outputs of
    the Paddle model that do not depend on its input (`outputs_for` runs it on another input, by the same
    names as `paddle`; once). A key named constant is not named again as input-independent."""
    constant = constant_keys(ref, paddle, threshold)
    warnings = [warning for warning in [constant_output_warning(ref, paddle, threshold)] if warning]
    varied = varied_inputs(inputs, seed)
    if varied is None:
        return warnings
    try:
        moved = outputs_for(varied)
    except Exception as error:  # the porter's model may reject an input it was not built for: no probe then
        print(f"note: the input-dependence probe did not run: {type(error).__name__}: {error}"[:300], flush=True)
        return warnings
    rest = {key: value for key, value in paddle.items() if key not in constant}
    ignored = ignored_input_warning(rest, moved, threshold)
    return [*warnings, ignored] if ignored else warnings
