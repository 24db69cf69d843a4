"""Compare reference and Paddle outputs key by key, the way reprod_log does, without its blind spots.

reprod_log's verdict passes NaN (``nan > threshold`` is False), silently transposes a 2-D array whose
shape is the other's transpose, and stops at the first missing key with a bare assert. Here every one of
those is a named problem that fails the key, and each key also gets the figures a porter needs to tell
a bug from float noise: relative error, cosine similarity, share within tolerance, the worst element.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .config import key_and_parents
from .schema import KeyDiff as KeyDiff  # re-exported: the comparison's result type

METHODS = ("mean", "max", "min", "all")
# reprod_log's order for method "all"; kept so the log lines read the same.
ALL_METHODS = ("min", "max", "mean")
# Denominator floor of max_rel, so an all-zero reference gives a huge (finite) ratio instead of inf/NaN.
TINY = float(np.finfo(np.float64).tiny)
# A key whose reference magnitude is within this factor of the threshold cannot fail an absolute check.
NEAR_ZERO_FACTOR = 10.0
_NUMERIC_KINDS = "biuf"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings to ``{"a/b": value}``, keeping insertion order."""
    flat: dict[str, Any] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{key}/"))
        else:
            flat[key] = value
    return flat


def compare(
    ref: Mapping[str, Any],
    paddle: Mapping[str, Any],
    threshold: float | Mapping[str, float],
    method: str | Mapping[str, str] = "mean",
    allclose: Mapping[str, tuple[float, float]] | None = None,
) -> list[KeyDiff]:
    """Compare every key of ``ref`` and ``paddle``: the reference's keys in order, then extra Paddle keys.

    ``threshold`` is one number for all keys, or a mapping looked up by the full key, then by each
    parent ("a/b" for "a/b/c", then "a"), then "*". ``method`` likewise: one name, or a mapping (keys
    that must be exact decide on the max, float outputs on the mean). ``allclose`` names the keys decided
    by ``(atol, rtol)`` instead, element by element, as numpy.allclose and torch.testing.assert_close do.
    """
    if isinstance(method, str):
        methods_checked(method)  # reject an unknown method even when there is nothing to compare
    flat_ref, flat_paddle = flatten(ref), flatten(paddle)
    keys = list(flat_ref) + [key for key in flat_paddle if key not in flat_ref]
    diffs = []
    for name in keys:
        key_method = method if isinstance(method, str) else _lookup(name, method, "method")
        tolerances = (allclose or {}).get(name)
        diffs.append(_compare_key(name, flat_ref, flat_paddle, threshold_for(name, threshold), key_method, tolerances))
    return diffs


def _compare_key(
    key: str,
    flat_ref: Mapping[str, Any],
    flat_paddle: Mapping[str, Any],
    threshold: float,
    method: str,
    allclose: tuple[float, float] | None,
) -> KeyDiff:
    if key not in flat_paddle:
        return _unpaired(key, threshold, method, "missing in paddle output", ref=flat_ref[key])
    if key not in flat_ref:
        return _unpaired(key, threshold, method, "extra key in paddle output", paddle=flat_paddle[key])
    return compare_arrays(key, flat_ref[key], flat_paddle[key], threshold, method, allclose)


def rule_text(threshold: float, method: str, allclose: tuple[float, float] | None = None) -> str:
    """The rule that decides a key, in words (shown beside every verdict)."""
    if allclose is not None:
        atol, rtol = allclose
        return f"|paddle - ref| <= {atol:g} + {rtol:g} * |ref| at every element"
    named = "min, max and mean" if method == "all" else method
    return f"{named} abs diff <= {threshold:g}"


def methods_checked(method: str) -> tuple[str, ...]:
    """The statistics a method decides on, in reprod_log's order ("all" is min, max and mean)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return ALL_METHODS if method == "all" else (method,)


def _lookup(key: str, table: Mapping[str, Any], what: str) -> Any:
    """A per-key setting: the full key, then each parent ("a/b" for "a/b/c", then "a"), then "*"."""
    candidates = [*key_and_parents(key), "*"]
    found = next((name for name in candidates if name in table), None)
    if found is None:
        raise ValueError(f"no {what} for key {key!r} (tried {', '.join(map(repr, candidates))})")
    return table[found]


def threshold_for(key: str, threshold: float | Mapping[str, float]) -> float:
    """The threshold of one key; a mapping without the key, its parents or "*" is a ValueError."""
    value = float(_lookup(key, threshold, "threshold") if isinstance(threshold, Mapping) else threshold)
    if not value >= 0.0:
        raise ValueError(f"threshold for key {key!r} must be a number >= 0, got {value!r}")
    return value


def compare_arrays(
    key: str, ref: Any, paddle: Any, threshold: float, method: str = "mean", allclose: tuple[float, float] | None = None
) -> KeyDiff:
    """Compare one pair of arrays (or scalars); any problem fails the key and names what is wrong. With
    ``allclose = (atol, rtol)`` the key passes when ``|paddle - ref| <= atol + rtol * |ref|`` everywhere;
    otherwise when the method's statistic of ``|paddle - ref|`` is at most ``threshold``."""
    a, b = np.asarray(ref), np.asarray(paddle)
    base: dict[str, Any] = dict(
        key=key,
        threshold=threshold,
        method=method,
        shape_ref=a.shape,
        shape_paddle=b.shape,
        rule=rule_text(threshold, method, allclose),
    )
    problem = _dtype_problem(a, b) or _shape_problem(a, b)
    if problem:
        return _without_stats(base, problem)
    problem = _nonfinite_problem(a, b)

    if a.size == 0:
        stats: dict[str, Any] = dict(
            mean=0.0, max=0.0, min=0.0, max_rel=0.0, cosine=1.0, within_tol=1.0, worst_index=None
        )
        ref_absmax = 0.0
        allclose_needs = 0.0
    else:
        # The one array-sized float64 temporary; the inputs are cast chunk-wise by the ufunc.
        diff = np.empty(a.shape, dtype=np.float64)
        np.subtract(a, b, out=diff, dtype=np.float64)
        np.abs(diff, out=diff)
        ref_absmax = _absmax(a)
        if allclose is not None:  # what exceeds the bound (<= 0 where the element passes), in place
            excess = diff - (allclose[0] + allclose[1] * np.abs(a, dtype=np.float64))
            worst = int(np.argmax(excess))  # the element furthest beyond its own bound
            allclose_needs = float(excess.flat[worst]) + allclose[0]  # the least atol that passes at this rtol
            within = float(np.count_nonzero(excess <= 0.0) / diff.size)
            del excess
        else:
            worst = int(np.argmax(diff))  # the first NaN, if any: the worst element either way
            within = float(np.count_nonzero(diff <= threshold) / diff.size)
        largest = float(diff.max())
        stats = dict(
            mean=float(diff.mean()),
            max=largest,
            min=float(diff.min()),
            max_rel=largest / max(ref_absmax, TINY) if largest else 0.0,
            cosine=_cosine(a, b),
            within_tol=within,
            worst_index=tuple(int(i) for i in np.unravel_index(worst, a.shape)),
        )
        del diff

    checked: list[float] = [stats[name] for name in methods_checked(method)]
    if allclose is not None:
        # Every element within its bound; a NaN fails (it is never within).
        passed = problem is None and stats["within_tol"] == 1.0 and math.isfinite(stats["max"])
        needed = max(allclose_needs, 0.0)
    else:
        # "v <= t" rather than reprod_log's "not v > t": a NaN statistic fails here.
        passed = problem is None and all(value <= threshold for value in checked)
        needed = max(checked)
    return KeyDiff(
        **base,
        **stats,
        passed=passed,
        min_passing_threshold=needed if problem is None and math.isfinite(needed) else None,
        problem=problem,
        values=(float(a.reshape(-1)[0]), float(b.reshape(-1)[0])) if a.size == 1 else None,
        ref_absmax=ref_absmax,
    )


def all_passed(diffs: Iterable[KeyDiff]) -> bool:
    """True when every key passed; an empty comparison proves nothing and does not pass."""
    diffs = list(diffs)
    return bool(diffs) and all(diff.passed for diff in diffs)


def near_zero_warning(diffs: Iterable[KeyDiff], threshold: float | None = None) -> str | None:
    """Warn when a key's reference is so close to zero that any absolute threshold passes it.

    A fresh random init can make every output tiny; then "mean diff <= 1e-5" holds for any model at
    all. ``threshold`` overrides each key's own threshold when given.
    """
    tiny_keys = []
    for diff in diffs:
        limit = NEAR_ZERO_FACTOR * (diff.threshold if threshold is None else threshold)
        if diff.problem is None and diff.ref_absmax is not None and diff.ref_absmax <= limit:
            magnitude = f"max |ref| = {diff.ref_absmax:.3g}, threshold {diff.threshold:.3g}"
            tiny_keys.append(f"{diff.key} ({magnitude})")
    if not tiny_keys:
        return None
    return (
        f"The reference values of {', '.join(tiny_keys)} are all within {NEAR_ZERO_FACTOR:g}x the "
        "threshold of zero, so any output this small passes the absolute threshold and the check proves "
        "nothing. Make it meaningful: load a real checkpoint, or rescale the initialisation / use a real "
        "input, so the outputs have a real magnitude."
    )


def _unpaired(key: str, threshold: float, method: str, problem: str, ref: Any = None, paddle: Any = None) -> KeyDiff:
    """A key present on one side only."""
    base = dict(
        key=key,
        threshold=threshold,
        method=method,
        shape_ref=None if ref is None else np.shape(ref),
        shape_paddle=None if paddle is None else np.shape(paddle),
    )
    return _without_stats(base, problem)


def _without_stats(base: dict[str, Any], problem: str) -> KeyDiff:
    """A failed key whose arrays could not be compared element by element."""
    return KeyDiff(
        **base,
        mean=None,
        max=None,
        min=None,
        passed=False,
        max_rel=None,
        cosine=None,
        within_tol=None,
        worst_index=None,
        min_passing_threshold=None,
        problem=problem,
    )


def _dtype_problem(a: np.ndarray, b: np.ndarray) -> str | None:
    if a.dtype.kind in _NUMERIC_KINDS and b.dtype.kind in _NUMERIC_KINDS:
        return None
    return f"not numeric: reference dtype {a.dtype} vs paddle dtype {b.dtype}"


def _shape_problem(a: np.ndarray, b: np.ndarray) -> str | None:
    # Never transpose to make shapes fit: a transposed output is exactly the bug this should catch.
    if a.shape == b.shape:
        return None
    return f"shape mismatch: reference {a.shape} vs paddle {b.shape}"


def _nonfinite_problem(a: np.ndarray, b: np.ndarray) -> str | None:
    counts = [(side, _count_nonfinite(array)) for side, array in (("reference", a), ("paddle", b))]
    bad = [f"{side} output ({count} element{'s' if count != 1 else ''})" for side, count in counts if count]
    return f"NaN/Inf in {' and '.join(bad)}" if bad else None


def _count_nonfinite(array: np.ndarray) -> int:
    if array.dtype.kind != "f":
        return 0  # integers and booleans are always finite
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def _absmax(array: np.ndarray) -> float:
    """max |x| without an array-sized temporary (and without int overflow of abs(min int))."""
    return float(max(abs(array.max().item()), abs(array.min().item())))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the flattened arrays, accumulated in float64 without float64 copies."""
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)

    def dot(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.einsum("i,i->", x, y, dtype=np.float64))

    squared_a, squared_b = dot(flat_a, flat_a), dot(flat_b, flat_b)
    if squared_a == 0.0 and squared_b == 0.0:
        return 1.0
    if squared_a == 0.0 or squared_b == 0.0:
        return 0.0
    # One square root of the product is exact for identical arrays (cosine exactly 1.0); the split
    # form only where the product would underflow to 0 or overflow.
    product = squared_a * squared_b
    norms = math.sqrt(product) if 0.0 < product < math.inf else math.sqrt(squared_a) * math.sqrt(squared_b)
    # np.clip keeps a NaN (from NaN/Inf inputs) where Python's min/max would hide it.
    return float(np.clip(dot(flat_a, flat_b) / norms, -1.0, 1.0))
