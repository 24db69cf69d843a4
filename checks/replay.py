"""Float64 replay: tells a port whose math differs from one whose float32 rounding differs.

An absolute threshold has no notion of magnitude: a Paddle twin with exact GELU where the reference uses the
tanh approximation differs by ~1e-5, which a 1e-5 threshold may pass, while a faithful deep twin may differ by
more than that from rounding alone. Run both models again in float64 (the same weights cast, the same inputs
cast): when the two compute the same function, their float64 difference collapses to float64 rounding,
about eps64/eps32 ~ 1e-9 of the float32 noise; when the math differs, the difference stays where it was.

The noise floor is the reference's own float32-vs-float64 discrepancy per key: what float32 rounding alone
does to this model on this input. Where one side has no float64 kernel (Paddle 3.3 cannot cast its LSTM/GRU),
the port's float32 difference is reported as a multiple of that floor instead, and decides nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from paddle_port_checks import events
from paddle_port_checks.compare import KeyDiff
from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.outputs import model_outputs, pair_outputs
from paddle_port_checks.schema import Event

if TYPE_CHECKING:
    from paddle_port_checks.context import CheckContext

# The math differs when the float64 difference is at least this share of float32's own rounding. A faithful
# twin sits near eps64/eps32 ~ 2e-9 of it (a few float64 ulps); a real difference in the math does not
# shrink with the precision (ratio ~1 or more). Three orders of magnitude of margin on either side.
MATH_DIFFERS_RATIO = 1e-3
# Training (the backward step) replays in float64 what Paddle's kernels partly keep in float32: AdaptiveAvgPool2D's
# backward scales the gradient by a float32 1/(H*W) (2.0e-8 relative), BatchNorm holds its momentum as a float32
# attribute (2.4e-8); iterations carry that trace forward. Measured on the faithful demo ResNet-18 (3 iterations,
# batch 1): float64 diffs at 2.2e-3..8.3e-3 of the floor; planted training bugs (BatchNorm momentum, SGD for
# Momentum, a scheduler not stepped): 1e5 and up. One order of magnitude of margin below, four above.
TRAINING_MATH_DIFFERS_RATIO = 1e-1
# The fallback (no float64 on the Paddle side): a float32 difference within this multiple of the noise
# floor is what rounding alone produces.
NOISE_MULTIPLE = 10.0
NOISE = "noise"
MATH_DIFFERS = "math differs"


@dataclass(frozen=True)
class KeyReplay:
    """One key's float64 figures: the port's difference in float64 (None without a float64 Paddle side) and
    the reference's own float32 rounding, both by the key's statistic (mean or max abs diff)."""

    float64_diff: float | None
    noise_floor: float
    ratio: float = MATH_DIFFERS_RATIO  # the share of the floor above which the math differs

    def verdict(self, float32_diff: float) -> str:
        if self.float64_diff is not None:
            return MATH_DIFFERS if self.float64_diff > self.ratio * self.noise_floor else NOISE
        if self.noise_floor == 0.0:
            return NOISE if float32_diff == 0.0 else f"{float32_diff:.2g} with a zero noise floor"
        multiple = float32_diff / self.noise_floor
        return NOISE if multiple <= NOISE_MULTIPLE else f"{multiple:.3g}x the noise floor"


def statistic(a: np.ndarray, b: np.ndarray, method: str) -> float:
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    if diff.size == 0:
        return 0.0
    return float(diff.max() if method == "max" else diff.min() if method == "min" else diff.mean())


def needs_replay(diffs: list[KeyDiff], float_outputs: set[str]) -> bool:
    """Off the critical path when there is nothing to explain: every float output bit-exact (or unusable)."""
    return any(d.key in float_outputs and d.problem is None and (d.max or 0.0) > 0.0 for d in diffs)


# The float64 copies of both models may take at most this share of the machine's memory (an LLM's would not fit).
MEMORY_SHARE = 0.25


def too_big_for_memory(paddle_model: Any) -> str:
    """Why float64 copies of the two models would not fit comfortably in memory, or "" when they would. The
    twin has the reference's parameters, so the Paddle side alone tells the size: the reference model is not
    built for this (a reused reference never imports torch)."""
    import os

    needed = 2 * 8 * sum(int(np.prod(p.shape)) for p in paddle_model.parameters())
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no limit known
        return ""
    if needed <= MEMORY_SHARE * memory:
        return ""
    return f"float64 copies of both models need {needed / 2**30:.1f} GiB, over a quarter of {memory / 2**30:.0f} GiB"


def as_float64(inputs: Any) -> Any:
    """The configured inputs with every float array cast to float64 (ids and masks stay as they are)."""
    if isinstance(inputs, Mapping):
        return {name: as_float64(value) for name, value in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(as_float64(value) for value in inputs)
    array = np.asarray(inputs)
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def torch_float64(model: Any) -> Any:
    """A float64 copy of the reference on the CPU (the built model serves the later steps as it is)."""
    return copy.deepcopy(model).to("cpu").double().eval()


def paddle_float64(model: Any) -> Any:
    double = copy.deepcopy(model)
    double.to(dtype="float64")  # raises where a layer cannot be cast (Paddle 3.3's LSTM/GRU)
    return double.eval()


def torch_float64_outputs(torch: Any, model: Any, inputs: Any) -> dict[str, np.ndarray]:
    with torch.no_grad():
        return model_outputs(call_model(torch_float64(model), converted(as_float64(inputs), torch.from_numpy)))


def paddle_float64_outputs(paddle: Any, model: Any, inputs: Any) -> dict[str, np.ndarray]:
    with paddle.no_grad():
        return model_outputs(call_model(paddle_float64(model), converted(as_float64(inputs), paddle.to_tensor)))


def judge(
    diffs: list[KeyDiff],
    ref32: Mapping[str, np.ndarray],
    ref64: Mapping[str, np.ndarray],
    paddle64: Mapping[str, np.ndarray] | None,
    keys: set[str],
    noise_passes: bool = False,
    ratio: float = MATH_DIFFERS_RATIO,
) -> list[str]:
    """Fill the float64 figures and verdict of each of `keys`; a key whose math differs fails whatever its
    threshold said. A float32 failure that replays as noise passes when `noise_passes` (the training steps:
    iterations amplify rounding past any threshold written for one forward), else keeps its verdict with a
    rule that says so. Returns the keys that failed by the replay."""
    failed = []
    for diff in diffs:
        if diff.key not in keys or diff.problem is not None or diff.key not in ref64:
            continue
        floor = statistic(ref32[diff.key], ref64[diff.key], diff.method)
        port64 = statistic(ref64[diff.key], paddle64[diff.key], diff.method) if paddle64 is not None else None
        figures = KeyReplay(port64, floor, ratio)
        float32_diff = diff.statistic or 0.0
        diff.float64_diff, diff.noise_floor = figures.float64_diff, figures.noise_floor
        diff.noise_verdict = figures.verdict(float32_diff)
        if diff.noise_verdict == NOISE and not diff.passed and port64 is not None:
            if noise_passes:
                diff.passed = True
                diff.rule = (
                    f"float64 replay: rounding noise ({diff.method} abs diff {float32_diff:.3g} in float32, "
                    f"{port64:.3g} in float64, where float32 rounding alone gives {floor:.3g})"
                )
            else:  # the reviewers' threshold stands, but the port is right: said
                diff.rule += (
                    f"; float64 replay: rounding noise (the same function: {port64:.3g} in float64), so a looser "
                    "threshold or atol/rtol would be honest here"
                )
        if diff.noise_verdict == MATH_DIFFERS:
            diff.rule = (
                f"float64 replay: the math differs ({diff.method} abs diff {port64:.3g} in float64, where "
                f"float32 rounding alone gives {floor:.3g})"
            )
            if diff.passed:
                failed.append(diff.key)
            diff.passed = False
    return failed


def record(context: CheckContext, details: dict[str, Any], diffs: list[KeyDiff], failed: list[str]) -> None:
    """The replay's figures in the result's details, each replayed key emitted again with its verdict (the
    live view showed it as first compared), and the keys that failed by it said."""
    details["float64_replay"] = {
        diff.key: {"float64_diff": diff.float64_diff, "noise_floor": diff.noise_floor, "verdict": diff.noise_verdict}
        for diff in diffs
        if diff.noise_verdict
    }
    for diff in diffs:
        if diff.noise_verdict:
            events.emit(Event("key", context.step, diff=diff))
    for name in failed:
        print(f"float64 replay: {name}: the math differs; the key fails whatever its threshold", flush=True)


def not_run_because(context: CheckContext, nothing_to_explain: str, paddle_model: Callable[[], Any]) -> str:
    """Why the replay does not run ("" when it does): switched off, a GPU run, `nothing_to_explain` (the step's
    words for "every float key agrees", "" when one does not), or copies too big for memory (also warned)."""
    if not context.config.float64_replay:
        return "off ([run] float64_replay = false)"
    if context.device.is_gpu or context.reference_device.is_gpu:
        return "not run: it runs on the CPU only"
    if nothing_to_explain:
        return f"not needed: {nothing_to_explain}"
    too_big = too_big_for_memory(paddle_model())
    if too_big:
        context.warn(f"float64 replay not run: {too_big}; set [run] float64_replay = false to skip it quietly")
        return f"not run: {too_big}"
    return ""


def paired(
    ref64: dict[str, np.ndarray], paddle64: dict[str, np.ndarray], names: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The float64 outputs under the names the float32 comparison used (the same pairing rules)."""
    ref, paddle, _ = pair_outputs(ref64, paddle64, names)
    return ref, paddle


# Localising in float64: a faithful layer differs by float64 rounding (~1e-16 relative, a few orders more
# through a deep stack); these sit far above that and far below a real difference (~1e-6 relative and up).
LAYER_ATOL = 1e-12
LAYER_RTOL = 1e-10


def float64_models(torch_model: Any, paddle_model: Any) -> tuple[Any, Any]:
    """Float64 copies of both models on the CPU, for localising a difference only float64 can see."""
    return torch_float64(torch_model), paddle_float64(paddle_model)
