"""compare: reprod_log's statistics, without its blind spots (NaN, silent transpose, missing keys)."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from paddle_port_checks.compare import KeyDiff, all_passed, compare, compare_arrays, near_zero_warning, threshold_for

# The fields of one "keys" entry of result/<step>.json, as fixed in docs/ARCHITECTURE.md.
ARCHITECTURE_KEY_FIELDS = {
    "key",
    "mean",
    "max",
    "min",
    "threshold",
    "method",
    "passed",
    "shape_ref",
    "shape_paddle",
    "max_rel",
    "cosine",
    "within_tol",
    "worst_index",
    "min_passing_threshold",
    "problem",
    "values",
    "rule",
    "float64_diff",
    "noise_floor",
    "noise_verdict",
}


def only(diffs: list[KeyDiff]) -> KeyDiff:
    assert len(diffs) == 1
    return diffs[0]


def test_nan_fails_here_but_passes_in_reprod_log():
    from reprod_log.compare import compute_diff
    from reprod_log.utils import check_print_diff

    ref = {"logits": np.array([[0.5, 1.0, 2.0]], dtype=np.float32)}
    paddle = {"logits": np.array([[0.5, np.nan, 2.0]], dtype=np.float32)}

    reprod_verdict = check_print_diff(compute_diff(ref, paddle), "mean", 1e-5, print_func=lambda *_: None)
    assert reprod_verdict is True  # the fault we must not inherit

    diff = only(compare(ref, paddle, 1e-5))
    assert diff.passed is False
    assert diff.problem == "NaN/Inf in paddle output (1 element)"
    assert not all_passed([diff])


def test_nan_and_inf_counted_per_side():
    ref = np.array([1.0, np.inf, -np.inf, 4.0])
    paddle = np.array([np.nan, 2.0, np.nan, 4.0])
    diff = only(compare({"x": ref}, {"x": paddle}, 1.0, method="max"))
    assert diff.problem == "NaN/Inf in reference output (2 elements) and paddle output (2 elements)"
    assert diff.passed is False
    assert diff.min_passing_threshold is None
    entry = diff.to_json()
    assert entry["mean"] is None and entry["max"] is None
    json.dumps(entry, allow_nan=False)  # strict JSON: would raise on a NaN left inside


def test_transposed_shape_fails_naming_both_shapes_where_reprod_log_transposes():
    from reprod_log.compare import compute_diff

    logits = np.arange(6, dtype=np.float32).reshape(2, 3)
    reprod = compute_diff({"logits": logits}, {"logits": logits.T.copy()})
    assert reprod["logits"]["max"] == 0.0  # reprod_log silently transposed and called it equal

    diff = only(compare({"logits": logits}, {"logits": logits.T.copy()}, 1e-5))
    assert diff.passed is False
    assert diff.problem == "shape mismatch: reference (2, 3) vs paddle (3, 2)"
    assert (diff.shape_ref, diff.shape_paddle) == ((2, 3), (3, 2))
    assert diff.mean is None and diff.min_passing_threshold is None


def test_missing_and_extra_keys_are_named_in_reference_order():
    ref = {"b": np.ones(2), "a": np.ones(2), "gone": np.ones(3)}
    paddle = {"new": np.zeros((4, 1)), "a": np.ones(2), "b": np.ones(2)}
    diffs = compare(ref, paddle, 1e-6)
    assert [d.key for d in diffs] == ["b", "a", "gone", "new"]
    by_key = {d.key: d for d in diffs}
    assert by_key["gone"].problem == "missing in paddle output"
    assert (by_key["gone"].shape_ref, by_key["gone"].shape_paddle) == ((3,), None)
    assert by_key["new"].problem == "extra key in paddle output"
    assert (by_key["new"].shape_ref, by_key["new"].shape_paddle) == (None, (4, 1))
    assert by_key["a"].passed and by_key["b"].passed
    assert not by_key["gone"].passed and not by_key["new"].passed
    assert not all_passed(diffs)


def test_exact_equality_passes_with_zero_minimum_threshold():
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    diff = only(compare({"logits": x}, {"logits": x.copy()}, 0.0))
    assert diff.passed
    assert (diff.mean, diff.max, diff.min) == (0.0, 0.0, 0.0)
    assert diff.min_passing_threshold == 0.0
    assert diff.cosine == 1.0
    assert diff.within_tol == 1.0
    assert diff.max_rel == 0.0
    assert diff.problem is None


def test_statistics_equal_numpy_reference_values():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((4, 7)).astype(np.float32)
    paddle = (ref + rng.normal(0, 1e-3, ref.shape)).astype(np.float32)
    threshold = 1e-3
    diff = only(compare({"x": ref}, {"x": paddle}, threshold))

    a, b = ref.astype(np.float64), paddle.astype(np.float64)
    abs_diff = np.abs(a - b)
    assert diff.mean == pytest.approx(abs_diff.mean(), rel=1e-12)
    assert diff.max == abs_diff.max()
    assert diff.min == abs_diff.min()
    assert diff.max_rel == pytest.approx(abs_diff.max() / np.abs(a).max(), rel=1e-12)
    cosine = a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b)
    assert diff.cosine == pytest.approx(cosine, rel=1e-12)
    assert diff.within_tol == pytest.approx(np.mean(abs_diff <= threshold))
    assert diff.worst_index == tuple(int(i) for i in np.unravel_index(abs_diff.argmax(), ref.shape))
    assert diff.ref_absmax == np.abs(a).max()
    assert diff.min_passing_threshold == diff.mean
    assert diff.passed == (abs_diff.mean() <= threshold)


@pytest.mark.parametrize(
    ("method", "expected_pass", "needed"),
    [("mean", True, 0.25), ("max", False, 1.0), ("min", True, 0.0), ("all", False, 1.0)],
)
def test_methods_decide_on_their_own_statistic(method, expected_pass, needed):
    ref = {"x": np.zeros(4)}
    paddle = {"x": np.array([0.0, 0.0, 0.0, 1.0])}
    diff = only(compare(ref, paddle, 0.5, method=method))
    assert diff.passed is expected_pass
    assert diff.min_passing_threshold == needed
    # The minimum passing threshold really is the boundary.
    assert only(compare(ref, paddle, needed, method=method)).passed
    if needed > 0:
        assert not only(compare(ref, paddle, np.nextafter(needed, 0), method=method)).passed


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown method 'median'"):
        compare({"x": 1.0}, {"x": 1.0}, 1e-5, method="median")


def test_integers_compared_as_float64_without_wraparound():
    ref = {"labels": np.array([0, 255], dtype=np.uint8), "big": np.array([2**40], dtype=np.int64)}
    paddle = {"labels": np.array([255, 255], dtype=np.uint8), "big": np.array([2**40 + 3], dtype=np.int64)}
    labels, big = compare(ref, paddle, 0.5, method="max")
    assert labels.max == 255.0  # uint8 subtraction would have wrapped to 1
    assert big.max == 3.0
    assert isinstance(labels.mean, float)


def test_scalars_and_python_numbers_are_zero_dimensional():
    diffs = compare({"length": 16, "acc_top1": np.float32(0.5)}, {"length": 16, "acc_top1": 0.5}, 1e-6)
    assert all(d.passed for d in diffs)
    assert [d.shape_ref for d in diffs] == [(), ()]
    assert diffs[0].worst_index == ()
    wrong = only(compare({"length": 16}, {"length": 15}, 1e-6))
    assert not wrong.passed and wrong.mean == 1.0


def test_nested_dicts_flatten_and_thresholds_resolve_by_parent():
    ref = {"weight": {"fc.weight": np.ones((2, 2)), "fc.bias": np.ones(2)}, "eval_acc_top1": 0.75}
    paddle = {"weight": {"fc.weight": np.ones((2, 2)), "fc.bias": np.ones(2) + 1e-4}, "eval_acc_top1": 0.75}
    thresholds = {"weight/fc.bias": 1e-3, "weight": 1e-6, "*": 0.0}
    diffs = compare(ref, paddle, thresholds)
    assert [(d.key, d.threshold, d.passed) for d in diffs] == [
        ("weight/fc.weight", 1e-6, True),
        ("weight/fc.bias", 1e-3, True),
        ("eval_acc_top1", 0.0, True),
    ]
    with pytest.raises(ValueError, match="no threshold for key 'eval_acc_top1'"):
        threshold_for("eval_acc_top1", {"weight": 1e-6})
    with pytest.raises(ValueError, match=">= 0"):
        threshold_for("x", float("nan"))


def test_non_numeric_values_are_a_problem_not_a_crash():
    diff = only(compare({"names": np.array(["a", "b"])}, {"names": np.array(["a", "b"])}, 1e-6))
    assert not diff.passed
    assert diff.problem.startswith("not numeric: reference dtype <U1")


def test_cosine_of_all_zero_arrays_is_one_and_of_opposite_arrays_minus_one():
    assert only(compare({"z": np.zeros(5)}, {"z": np.zeros(5)}, 0.0)).cosine == 1.0
    assert only(compare({"z": np.ones(5)}, {"z": -np.ones(5)}, 0.0)).cosine == -1.0
    assert only(compare({"z": np.ones(5)}, {"z": np.zeros(5)}, 0.0)).cosine == 0.0


def test_to_json_has_exactly_the_architecture_fields_in_json_types():
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    entry = only(compare({"logits": x}, {"logits": x * 1.001}, 1e-5)).to_json()
    assert set(entry) == ARCHITECTURE_KEY_FIELDS
    assert json.loads(json.dumps(entry, allow_nan=False)) == entry
    assert entry["shape_ref"] == [3, 4] and isinstance(entry["worst_index"], list)
    float_fields = ("mean", "max", "min", "max_rel", "cosine", "within_tol", "min_passing_threshold")
    assert all(type(entry[name]) is float for name in float_fields)


def test_near_zero_reference_warns_that_the_check_proves_nothing():
    tiny = np.full((1, 10), 3e-7, dtype=np.float32)
    diffs = compare({"logits": tiny}, {"logits": -tiny}, 1e-5)  # opposite sign, yet it passes
    assert all_passed(diffs)
    warning = near_zero_warning(diffs)
    assert warning is not None
    assert "logits" in warning and "proves nothing" in warning and "checkpoint" in warning
    # A stricter threshold makes the same values meaningful.
    assert near_zero_warning(diffs, threshold=1e-9) is None

    real = np.linspace(-3, 3, 10, dtype=np.float32)
    assert near_zero_warning(compare({"logits": real}, {"logits": real}, 1e-5)) is None


def test_empty_comparison_does_not_pass():
    assert compare({}, {}, 1e-5) == []
    assert all_passed([]) is False


def test_large_arrays_use_one_float64_temporary():
    n = 2_000_000
    ref = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    paddle = ref + np.float32(1e-6)
    tracemalloc.start()
    try:
        diff = only(compare({"x": ref}, {"x": paddle}, 1e-5, method="all"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float64_temporary = n * 8
    assert peak < 1.25 * float64_temporary + n  # + one boolean mask for within_tol
    assert diff.passed


def test_single_values_are_reported_as_they_are():
    accuracy = only(compare({"acc_top1": np.array(0.25)}, {"acc_top1": 0.125}, 1e-6, method="max"))
    assert accuracy.to_json()["values"] == [0.25, 0.125] and not accuracy.passed
    assert only(compare({"logits": np.ones(3)}, {"logits": np.ones(3)}, 1e-6)).to_json()["values"] is None


def test_allclose_decides_element_by_element_with_atol_and_rtol() -> None:
    ref = np.array([1000.0, 1.0, 0.0], dtype=np.float32)
    paddle = np.array([1000.05, 1.0, 1e-7], dtype=np.float32)
    # 0.05 at 1000 is within rtol 1e-4 (bound 0.1); 1e-7 at 0 is within atol 1e-6.
    diff = compare_arrays("logits", ref, paddle, threshold=1e-5, allclose=(1e-6, 1e-4))
    assert diff.passed and diff.within_tol == 1.0
    assert diff.rule == "|paddle - ref| <= 1e-06 + 0.0001 * |ref| at every element"
    # The mean rule would fail the same arrays on the large element.
    assert not compare_arrays("logits", ref, paddle, threshold=1e-5).passed


def test_allclose_fails_on_one_element_and_says_the_least_atol_that_passes() -> None:
    ref = np.zeros(1000, dtype=np.float32)
    paddle = ref.copy()
    paddle[7] = 3e-6
    diff = compare_arrays("x", ref, paddle, threshold=1.0, allclose=(1e-6, 0.0))
    assert not diff.passed and diff.worst_index == (7,)
    assert diff.within_tol == pytest.approx(0.999)
    assert diff.min_passing_threshold == pytest.approx(3e-6, rel=1e-3)


def test_allclose_fails_a_nan() -> None:
    diff = compare_arrays("x", np.array([1.0, 2.0]), np.array([1.0, np.nan]), threshold=1.0, allclose=(1.0, 1.0))
    assert not diff.passed and diff.problem is not None


def test_every_key_says_its_rule() -> None:
    (mean, exact) = compare(
        {"a": np.ones(3), "b": np.ones(2)}, {"a": np.ones(3), "b": np.ones(2)}, 1e-5, {"a": "mean", "b": "max"}
    )
    assert mean.rule == "mean abs diff <= 1e-05" and exact.rule == "max abs diff <= 1e-05"
