"""Degenerate checks are named: passes that prove little warn, with the step's key (issue 10, item 4).

The detectors are pure numpy and tested as such first; then the demo port with real torch and paddle: random
weights on 1000 classes (a 0-vs-0 metric), a zero-initialised head (a uniform prediction, constant logits),
an output that ignores its input, and the faithful twin with real weights, which must not warn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks import degenerate
from paddle_port_checks.steps import forward

THRESHOLD = 1e-5


# --- the metric: both sides at the floor or the ceiling -------------------------------------------------
@pytest.mark.parametrize("zero", [0.0, np.array(0.0), np.array([0.0]), 1e-9])
def test_a_metric_at_0_on_both_sides_is_named(zero: object) -> None:
    warning = degenerate.zero_metric_warning({"acc_top1": zero, "acc_top5": 0.5}, {"acc_top1": 0.0, "acc_top5": 0.5})
    assert warning is not None and "metric acc_top1 is 0 on both sides" in warning
    assert "acc_top5" not in warning and "real trained weights" in warning


@pytest.mark.parametrize("full", [1.0, 100.0])
def test_a_metric_at_its_maximum_on_both_sides_is_named(full: float) -> None:
    warnings = degenerate.metric_warnings({"top1": 0.5, "top5": full}, {"top1": 0.5, "top5": full})
    assert len(warnings) == 1 and f"top5 = {full:g}" in warnings[0] and "num_batches" in warnings[0]


@pytest.mark.parametrize(
    ("ref", "paddle"),
    [
        ({"acc": 0.0}, {"acc": 0.25}),  # one side only: the comparison fails it, nothing degenerate
        ({"acc": 0.5}, {"acc": 0.5}),
        ({"acc": 0.99}, {"acc": 0.99}),
        ({"acc": float("nan")}, {"acc": float("nan")}),  # the comparison names a NaN itself
        ({"acc": np.zeros(3)}, {"acc": np.zeros(3)}),  # not a single value
        ({"acc": 0.0}, {}),  # missing on one side
        ({}, {}),
    ],
)
def test_no_metric_warning_off_the_floor_and_ceiling(ref: dict[str, object], paddle: dict[str, object]) -> None:
    assert degenerate.metric_warnings(ref, paddle) == []


def test_several_metric_keys_at_0_are_named_in_one_sentence() -> None:
    warning = degenerate.zero_metric_warning({"top1": 0, "top5": 0}, {"top1": 0, "top5": 0})
    assert warning is not None and warning.startswith("The metrics top1, top5 are 0 on both sides")


# --- predict: a top-1 probability near uniform ------------------------------------------------------------
def test_the_near_uniform_rule_is_2x_uniform_at_1000_classes_and_tighter_below() -> None:
    assert degenerate.near_uniform_limit(1000) == pytest.approx(2 / 1000, rel=0.01)
    assert 1 / 10 < degenerate.near_uniform_limit(10) < 1.3 / 10
    assert 0.5 < degenerate.near_uniform_limit(2) < 0.55  # "2x uniform" would be certainty here


def test_the_issues_prediction_warns_naming_the_key() -> None:
    warning = degenerate.near_uniform_warning("prob", np.array([0.0016]), np.array([0.0016]), 1000)
    assert warning is not None and warning.startswith("The prediction prob is near uniform on both sides")
    assert "top-1 probability is 0.0016" in warning
    assert "uniform is 0.001" in warning and "real image" in warning


@pytest.mark.parametrize(
    ("ref", "paddle", "classes"),
    [
        (0.43, 0.43, 10),  # the demo's seeded init: a preference
        (0.0206, 0.0206, 1000),  # the demo's seeded init on 1000 classes: 20x uniform
        (0.0016, 0.9, 1000),  # one side only: the comparison fails it
        (0.6, 0.6, 2),
        (1.0, 1.0, 1),  # one class: nothing to choose
        (float("nan"), float("nan"), 10),
        (np.array([]), np.array([]), 10),
    ],
)
def test_no_near_uniform_warning_for_a_preference_or_nothing_to_judge(
    ref: object, paddle: object, classes: int
) -> None:
    assert degenerate.near_uniform_warning("prob", ref, paddle, classes) is None


def test_every_row_must_be_near_uniform() -> None:
    rows = np.array([0.1, 0.9])
    assert degenerate.near_uniform_warning("prob", rows, rows, 10) is None
    assert degenerate.near_uniform_warning("prob", np.array([0.1, 0.11]), np.array([0.1, 0.11]), 10) is not None


# --- forward: constant outputs, outputs that ignore the input ----------------------------------------------
def test_identical_constant_outputs_are_named() -> None:
    zeros = {"logits": np.zeros((1, 10), np.float32), "features": np.arange(4.0)}
    warning = degenerate.constant_output_warning(zeros, {k: v.copy() for k, v in zeros.items()}, THRESHOLD)
    assert warning is not None and "output logits (all 10 elements 0) is constant" in warning
    assert "features" not in warning


@pytest.mark.parametrize(
    ("ref", "paddle"),
    [
        (np.zeros((1, 10)), np.ones((1, 10))),  # constant but not the same: the key fails on its own
        (np.zeros((1, 10)), np.arange(10.0)[None]),
        (np.array([3.0]), np.array([3.0])),  # one element is no evidence of anything
        (np.full((2, 3), np.nan), np.full((2, 3), np.nan)),
        (np.zeros((0, 10)), np.zeros((0, 10))),
        (np.zeros((2, 5)), np.zeros((5, 2))),
    ],
)
def test_no_constant_warning_when_not_both_constant_and_the_same(ref: np.ndarray, paddle: np.ndarray) -> None:
    assert degenerate.constant_output_warning({"logits": ref}, {"logits": paddle}, THRESHOLD) is None


def test_float32_rounding_of_a_constant_is_still_constant() -> None:
    almost = np.full((1, 8), 2.5, np.float32)
    almost[0, 3] = np.nextafter(np.float32(2.5), np.float32(3))
    assert degenerate.constant_keys({"y": almost}, {"y": almost}, THRESHOLD) == ["y"]


def test_the_second_input_keeps_shapes_dtypes_ranges_and_constants() -> None:
    image = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    ids = np.array([[5, 9, 17, 3]], np.int64)
    arrays = {"x": image, "ids": ids, "mask": np.ones((1, 4), np.int64), "flags": np.array([True, False])}
    varied, again = degenerate.varied_inputs(arrays, seed=33), degenerate.varied_inputs(arrays, seed=33)
    assert varied is not None and again is not None
    assert {name: (a.shape, a.dtype) for name, a in varied.items()} == {
        n: (a.shape, a.dtype) for n, a in arrays.items()
    }
    assert not np.array_equal(varied["x"], image) and abs(float(varied["x"].std()) - float(image.std())) < 0.3
    assert varied["ids"].min() >= 3 and varied["ids"].max() <= 17
    assert np.array_equal(varied["mask"], arrays["mask"])
    assert all(np.array_equal(again[name], varied[name]) for name in arrays)  # seeded: the same every run


@pytest.mark.parametrize("arrays", [{"mask": np.ones((1, 4), np.int64)}, {"x": np.zeros((0, 3))}, {}])
def test_no_second_input_when_nothing_can_change(arrays: dict[str, np.ndarray]) -> None:
    assert degenerate.varied_inputs(arrays, seed=33) is None


def test_an_output_that_did_not_move_with_the_input_is_named() -> None:
    first = {"logits": np.arange(10.0)[None], "boxes": np.ones((1, 4))}
    second = {"logits": np.arange(10.0)[None] + 1e-7, "boxes": np.zeros((1, 4))}
    warning = degenerate.ignored_input_warning(first, second, THRESHOLD)
    assert warning is not None and warning.startswith("The output logits (mean change 1e-07) is within the threshold")
    assert "boxes" not in warning and "BatchNorm statistics" in warning
    assert degenerate.ignored_input_warning(first, {"logits": np.full((1, 10), np.nan)}, THRESHOLD) is None
    assert degenerate.ignored_input_warning(first, {"logits": np.zeros((2, 10))}, THRESHOLD) is None


def test_forward_warnings_name_a_constant_key_once_and_survive_a_failing_probe() -> None:
    zeros, bias = np.zeros((1, 10)), np.arange(10.0)[None]
    ref = paddle = {"zeros": zeros, "bias": bias}
    inputs = {"x": np.arange(6.0)}
    warnings = degenerate.forward_warnings(ref, paddle, THRESHOLD, inputs, 33, lambda varied: dict(paddle))
    assert len(warnings) == 2 and "zeros" in warnings[0] and "bias" in warnings[1] and "zeros" not in warnings[1]

    def rejects(varied: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise ValueError("the port asserts on its input")

    assert len(degenerate.forward_warnings(ref, paddle, THRESHOLD, inputs, 33, rejects)) == 1
    moving = degenerate.forward_warnings(
        {"bias": bias}, {"bias": bias}, THRESHOLD, inputs, 33, lambda v: {"bias": v["x"]}
    )
    assert moving == []


# --- the demo port, real torch and paddle ----------------------------------------------------------------
@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def _degenerate(result: dict[str, object]) -> list[str]:
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    return [warning for warning in warnings if "proves little" in warning]


def test_random_weights_on_1000_classes_warn_of_a_0_vs_0_metric(demo: Path) -> None:
    """The issue's case: seeded init, 1000 classes, photographs of the demo's 10 classes: 0 % vs 0 %."""
    set_config(demo, 'checkpoint = "weights/reference.pth"', "# seeded init")
    for _ in ("reference", "paddle"):
        set_config(demo, "kwargs = { num_classes = 10 }", "kwargs = { num_classes = 1000 }")
    photographs = (demo / "lite_data.txt").read_text().splitlines(keepends=True)
    (demo / "lite_data.txt").write_text("".join(photographs[:4]))  # four are enough, in a third of the time
    code, result = run_step(demo, "metric")
    assert code == 0 and result["status"] == "passed", result["error"]
    (warning,) = _degenerate(result)
    assert "acc_top1" in warning and "0 on both sides" in warning and "real trained weights" in warning


FLAT_HEAD = """
import torch

from demo_port import torch_model


def resnet18(**kwargs):
    # like timm's zero-initialised heads: every class scores the same until trained
    model = torch_model.resnet18(**kwargs)
    torch.nn.init.zeros_(model.fc.weight)
    torch.nn.init.zeros_(model.fc.bias)
    return model
"""


def test_a_zero_initialised_head_warns_of_a_uniform_prediction_and_constant_logits(demo: Path) -> None:
    (demo / "demo_port" / "flat_head.py").write_text(FLAT_HEAD)
    set_config(demo, 'checkpoint = "weights/reference.pth"', "# seeded init, the head zeroed (converted for Paddle)")
    set_config(demo, '"demo_port.torch_model:resnet18"', '"demo_port.flat_head:resnet18"')
    code, result = run_step(demo, "predict")
    assert code == 0 and result["status"] == "passed", result["error"]
    assert result["details"]["reference_prob"] == pytest.approx(0.1)
    (warning,) = _degenerate(result)
    assert "prediction prob is near uniform" in warning
    assert "is 0.1 in the reference and 0.1 in paddle with 10 classes" in warning

    code, result = run_step(demo, "forward")
    assert code == 0 and result["status"] == "passed"
    (warning,) = _degenerate(result)  # constant, so not named again as input-independent
    assert "output logits (all 10 elements 0) is constant" in warning


def test_an_output_that_ignores_the_input_warns_and_the_faithful_twin_does_not(demo: Path) -> None:
    """(The faithful twin's metric and prediction do not warn either: see test_steps.py.)"""
    code, result = run_step(demo, "forward")
    assert code == 0 and _degenerate(result) == []

    def ignores_its_input(model: object, x: object) -> object:
        return model(x * 0)  # type: ignore[operator]

    code, result = run_step(demo, "forward", lambda context: forward.run(context, ignores_its_input, ignores_its_input))
    assert code == 0 and result["status"] == "passed"
    (warning,) = _degenerate(result)
    assert warning.startswith("The output logits (mean change 0) is within the threshold")
