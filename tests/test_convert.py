"""Weight conversion torch -> Paddle: layouts, the report's accounting, checkpoint files, and loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle
import pytest
import torch
from twins import (
    MLP_INPUT_SHAPE,
    disjoint_names_convnet,
    example_input,
    run_paddle,
    run_torch,
    same_names_convnet,
    square_linear_mlp,
)

from paddle_port_checks.convert import (
    convert_state_dict,
    load_into_paddle,
    load_torch_checkpoint,
    save_pdparams,
    torch_state_to_numpy,
)
from paddle_port_checks.mapping import Mapping, MappingEntry, build_mapping
from paddle_port_checks.safe_load import CheckpointError


def _mean_abs_diff(torch_model, paddle_model, x: np.ndarray) -> float:
    return float(np.abs(run_torch(torch_model, x) - run_paddle(paddle_model, x)).mean())


def _convert_and_load(torch_model, paddle_model, mapping: Mapping | None = None):
    converted, report = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model, mapping)
    load_report = load_into_paddle(paddle_model, converted)
    assert load_report.ok, load_report.summary()
    return converted, report


@pytest.mark.parametrize(("paddle_linear", "transposed"), [("nn", True), ("compat", False)])
def test_square_linear_layout_follows_the_paddle_layer_type(paddle_linear: str, transposed: bool):
    torch_model, paddle_model = square_linear_mlp(paddle_linear)
    x = example_input(MLP_INPUT_SHAPE)
    converted, report = _convert_and_load(torch_model, paddle_model)

    assert report.ok, report.summary()
    assert set(report.transposed) == ({"0.weight", "2.weight"} if transposed else set())
    torch_weight = torch_model[0].weight.detach().numpy()
    np.testing.assert_array_equal(converted["0.weight"], torch_weight.T if transposed else torch_weight)
    assert _mean_abs_diff(torch_model, paddle_model, x) <= 1e-6


@pytest.mark.parametrize("paddle_linear", ["nn", "compat"])
def test_square_linear_in_the_wrong_layout_loads_but_gives_other_outputs(paddle_linear: str):
    torch_model, paddle_model = square_linear_mlp(paddle_linear)
    right_layout = paddle_linear == "nn"
    # A hand-edited mapping forcing the other layout: a square weight fits either way, so nothing but the
    # outputs (and our warning) can show the mistake.
    wrong = Mapping(
        entries=[
            MappingEntry(name, name, None, None, (not right_layout) if name.endswith("weight") else None, "file")
            for name in ("0.weight", "0.bias", "2.weight", "2.bias")
        ]
    )
    _, report = _convert_and_load(torch_model, paddle_model, wrong)

    assert report.ok
    assert len(report.warnings) == 2 and "the file's choice was used" in report.warnings[0]
    assert _mean_abs_diff(torch_model, paddle_model, example_input(MLP_INPUT_SHAPE)) > 1e-2


def test_disjoint_names_convert_without_a_mapping_and_outputs_agree():
    torch_model, paddle_model = disjoint_names_convnet()
    _, report = _convert_and_load(torch_model, paddle_model, mapping=None)
    assert report.ok, report.summary()
    assert {t.how for t in report.mapped} == {"structure"}
    assert report.transposed == ["head.classifier.weight"]
    assert _mean_abs_diff(torch_model, paddle_model, example_input()) <= 1e-6


def test_num_batches_tracked_is_dropped_not_unexpected():
    torch_model, paddle_model = same_names_convnet()
    converted, report = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model)
    assert report.ok
    assert report.dropped == ["1.num_batches_tracked", "5.num_batches_tracked"]
    assert not any("num_batches_tracked" in name for name in converted)
    np.testing.assert_array_equal(converted["1._variance"], torch_model[1].running_var.numpy())


def test_checkpoint_missing_a_tensor_is_named_and_not_ok():
    torch_model, paddle_model = disjoint_names_convnet()
    mapping = build_mapping(torch_model, paddle_model)
    state = torch_state_to_numpy(torch_model.state_dict())
    del state["5.running_var"]

    converted, report = convert_state_dict(state, paddle_model, mapping)
    assert not report.ok
    assert [m.name for m in report.missing] == ["body.norm._variance"]
    assert "torch '5.running_var', which the checkpoint lacks" in report.missing[0].reason
    assert "missing in checkpoint: body.norm._variance" in report.summary()
    assert "body.norm._variance" not in converted
    assert load_into_paddle(paddle_model, converted).missing == ["body.norm._variance"]


def test_extra_checkpoint_tensor_is_named_as_unexpected():
    torch_model, paddle_model = same_names_convnet()
    state = torch_state_to_numpy(torch_model.state_dict())
    state["aux_head.weight"] = np.ones((3, 16), np.float32)

    _, report = convert_state_dict(state, paddle_model)
    assert not report.ok
    assert [u.name for u in report.unexpected] == ["aux_head.weight"]
    assert report.unexpected[0].shape == (3, 16)
    assert not report.missing


def test_shape_mismatch_names_both_shapes():
    torch_model, paddle_model = same_names_convnet()
    state = torch_state_to_numpy(torch_model.state_dict())
    state["10.weight"] = np.zeros((12, 16), np.float32)  # a classifier for 12 classes, not 10

    _, report = convert_state_dict(state, paddle_model)
    assert not report.ok
    assert report.mismatched[0].describe() == (
        "10.weight -> 10.weight: shape mismatch: torch (12, 16) after transpose vs paddle (16, 10)"
    )
    assert not report.missing and not report.unexpected  # counted once, as a mismatch


def test_size_one_dimensions_are_reshaped_and_reported():
    torch_model, paddle_model = same_names_convnet()
    state = torch_state_to_numpy(torch_model.state_dict())
    state["10.bias"] = state["10.bias"].reshape(1, 10)

    converted, report = convert_state_dict(state, paddle_model)
    assert report.ok
    assert report.reshaped == ["10.bias"]
    assert converted["10.bias"].shape == (10,)
    assert report.to_json()["mapped"][-1]["reshaped"] is True


def test_report_json_and_summary_carry_the_verdict():
    torch_model, paddle_model = same_names_convnet()
    state = torch_state_to_numpy(torch_model.state_dict())
    del state["0.bias"]
    _, report = convert_state_dict(state, paddle_model)
    data = report.to_json()
    assert data["ok"] is False
    assert data["missing"][0]["name"] == "0.bias"
    assert report.summary().startswith("weights: NOT ok: 12 mapped (1 transposed, 0 reshaped), 1 missing")


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model"])
def test_load_torch_checkpoint_unwraps_and_strips_data_parallel_prefix(tmp_path: Path, wrapper: str | None):
    torch_model, _ = same_names_convnet()
    state = {f"module.{k}": v for k, v in torch_model.state_dict().items()}
    path = tmp_path / "ref.pth"
    torch.save(state if wrapper is None else {wrapper: state, "epoch": 3}, path)

    arrays = load_torch_checkpoint(path)
    assert list(arrays) == list(torch_model.state_dict())
    np.testing.assert_array_equal(arrays["0.weight"], torch_model[0].weight.detach().numpy())


def test_load_torch_checkpoint_rejects_a_non_state_dict_naming_the_file(tmp_path: Path):
    path = tmp_path / "odd.pth"
    torch.save({"weights": [1, 2], "epoch": 3}, path)
    with pytest.raises(CheckpointError, match=r"odd\.pth: not a state dict"):
        load_torch_checkpoint(path)


def test_pdparams_round_trip_loads_every_tensor(tmp_path: Path):
    torch_model, paddle_model = disjoint_names_convnet()
    converted, _ = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model)
    path = tmp_path / "out" / "model.pdparams"
    save_pdparams(converted, path)

    _, fresh_paddle = disjoint_names_convnet()
    loaded = {k: v.numpy() for k, v in paddle.load(str(path)).items()}
    report = load_into_paddle(fresh_paddle, loaded)
    assert report.ok and report.loaded == len(fresh_paddle.state_dict())
    assert _mean_abs_diff(torch_model, fresh_paddle, example_input()) <= 1e-6


def test_load_into_paddle_names_what_paddle_would_only_warn_about():
    torch_model, paddle_model = same_names_convnet()
    converted, _ = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model)
    before = paddle_model.state_dict()["5._mean"].numpy().copy()
    del converted["5._mean"]
    converted["4.weight"] = converted["4.weight"][:, :4]
    converted["stray"] = np.zeros(2, np.float32)

    report = load_into_paddle(paddle_model, converted)
    assert not report.ok
    assert report.missing == ["5._mean"]
    assert report.unexpected == ["stray"]
    assert report.mismatched == ["4.weight: given (16, 4, 3, 3) vs paddle (16, 8, 3, 3)"]
    np.testing.assert_array_equal(paddle_model.state_dict()["5._mean"].numpy(), before)
    assert "missing (1): 5._mean" in report.summary()


def test_load_into_paddle_casts_float64_arrays_to_the_parameter_dtype():
    torch_model, paddle_model = same_names_convnet()
    converted, _ = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model)
    report = load_into_paddle(paddle_model, {k: v.astype(np.float64) for k, v in converted.items()})
    assert report.ok, report.summary()
    assert _mean_abs_diff(torch_model, paddle_model, example_input()) <= 1e-6


def test_demo_resnet18_converts_by_name_and_outputs_agree():
    from demo_port import paddle_model as demo_paddle
    from demo_port import torch_model as demo_torch

    torch.manual_seed(0)
    torch_model = demo_torch.resnet18(num_classes=10).eval()
    paddle.seed(0)
    paddle_model = demo_paddle.resnet18(num_classes=10)
    paddle_model.eval()

    mapping = build_mapping(torch_model, paddle_model)
    assert mapping.complete, mapping.summary()
    assert {e.how for e in mapping.entries} == {"name"}
    _, report = _convert_and_load(torch_model, paddle_model, mapping)
    assert report.ok, report.summary()
    assert report.transposed == ["fc.weight"]
    assert len(report.dropped) == 20  # one num_batches_tracked per BatchNorm
    x = example_input((1, 3, 64, 64))
    assert _mean_abs_diff(torch_model, paddle_model, x) <= 1e-6


@pytest.mark.parametrize(
    "fault",
    [{"bn_epsilon": 1e-1}, {"maxpool_ceil_mode": True}, {"dropout_mode": "downscale_in_infer"}],
    ids=["bn_epsilon", "maxpool_ceil_mode", "dropout_mode"],
)
@pytest.mark.parametrize("pair", [same_names_convnet, disjoint_names_convnet])
def test_faulty_twins_load_completely_yet_disagree(pair, fault: dict):
    """The faulty twins other tests localise: weights convert cleanly, only the layer attribute differs."""
    x = example_input()
    torch_model, faithful = pair()
    _convert_and_load(torch_model, faithful)
    faithful_diff = _mean_abs_diff(torch_model, faithful, x)

    torch_model, faulty = pair(**fault)
    _, report = _convert_and_load(torch_model, faulty)
    assert report.ok
    assert faithful_diff <= 1e-6
    assert _mean_abs_diff(torch_model, faulty, x) > 1e-4
