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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from paddle_port_checks.compare import KeyDiff
from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.outputs import model_outputs, pair_outputs

# The math differs when the float64 difference is at least this share of float32's own rounding. A faithful
# twin sits near eps64/eps32 ~ 2e-9 of it (a few float64 ulps); a real difference in the math does not
# shrink with the precision (ratio ~1 or more). Three orders of magnitude of margin on either side.
MATH_DIFFERS_RATIO = 1e-3
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

    def verdict(self, float32_diff: float) -> str:
        if self.float64_diff is not None:
            return MATH_DIFFERS if self.float64_diff > MATH_DIFFERS_RATIO * self.noise_floor else NOISE
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
    float_outputs: set[str],
) -> list[str]:
    """Fill each float key's float64 figures and verdict; a key whose math differs fails whatever its
    threshold said. Returns the keys that failed that way."""
    failed = []
    for diff in diffs:
        if diff.key not in float_outputs or diff.problem is not None or diff.key not in ref64:
            continue
        floor = statistic(ref32[diff.key], ref64[diff.key], diff.method)
        port64 = statistic(ref64[diff.key], paddle64[diff.key], diff.method) if paddle64 is not None else None
        figures = KeyReplay(port64, floor)
        float32_diff = diff.statistic or 0.0
        diff.float64_diff, diff.noise_floor = figures.float64_diff, figures.noise_floor
        diff.noise_verdict = figures.verdict(float32_diff)
        if diff.noise_verdict == NOISE and not diff.passed and port64 is not None:
            # Not flipped to a pass (the reviewers' threshold stands), but said: the port is right.
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
