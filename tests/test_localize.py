"""First divergence on real torch/Paddle twins: the faulty layer is named, judged, and explained by lint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import paddle
import pytest
import torch
from twins import disjoint_names_convnet, example_input, same_names_convnet, square_linear_mlp

from paddle_port_checks.convert import convert_state_dict, torch_state_to_numpy
from paddle_port_checks.localize import localize
from paddle_port_checks.mapping import build_mapping

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # demo_port is a workspace module, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

paddle.set_device("cpu")


def with_same_weights(torch_model: torch.nn.Module, paddle_model: paddle.nn.Layer) -> paddle.nn.Layer:
    """Load the torch weights into the Paddle twin (the caller's job before localize)."""
    mapping = build_mapping(torch_model, paddle_model)
    state, _ = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model, mapping)
    paddle_model.set_state_dict(state)
    return paddle_model


def localized(pair: tuple[torch.nn.Module, paddle.nn.Layer], **kwargs):
    torch_model, paddle_model = pair
    return localize(torch_model, with_same_weights(torch_model, paddle_model), example_input(), **kwargs)


@pytest.mark.parametrize("build", [same_names_convnet, disjoint_names_convnet])
def test_faithful_twin_has_no_divergence_and_no_findings(build) -> None:
    result = localized(build())
    assert result.first is None and result.verdict is None
    assert result.lint == [] and result.warnings == []
    # every leaf call of the torch net is paired, the parameter-free ones included
    assert [layer.torch_type for layer in result.layers] == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "AdaptiveAvgPool2d",
        "Flatten",
        "Dropout",
        "Linear",
    ]
    assert all(layer.diff.rel < 1e-5 for layer in result.layers)
    assert result.output.passed
    assert result.to_json()["first_divergence"] is None


def test_maxpool_ceil_mode_twin_names_the_pool_as_the_faulty_layer() -> None:
    result = localized(disjoint_names_convnet(maxpool_ceil_mode=True))
    first = result.first
    assert (first.torch_name, first.paddle_name, first.paddle_type) == ("3", "stem.pool", "MaxPool2D")
    assert first.diff.problem == "shape mismatch: reference (2, 8, 5, 5) vs paddle (2, 8, 6, 6)"
    assert result.verdict == "layer"
    assert [(f.attribute, f.torch_value, f.paddle_value) for f in result.first_findings] == [("ceil_mode", False, True)]


def test_dropout_downscale_in_infer_is_named_and_the_next_layer_is_only_upstream() -> None:
    result = localized(same_names_convnet(dropout_mode="downscale_in_infer"))
    assert (result.first.torch_type, result.first.paddle_name) == ("Dropout", "9")
    assert result.first.diff.rel == pytest.approx(0.5, rel=1e-4)  # eval outputs scaled by 1 - p
    assert [check.verdict for check in result.isolated] == ["layer", "upstream"]
    assert result.isolated[1].layer.torch_type == "Linear"
    assert [f.attribute for f in result.first_findings] == ["mode"]


def test_bn_epsilon_twin_names_the_first_batchnorm() -> None:
    result = localized(disjoint_names_convnet(bn_epsilon=1e-3))
    assert (result.first.torch_name, result.first.paddle_name) == ("1", "stem.norm")
    assert result.verdict == "layer"
    finding = result.first_findings[0]
    assert (finding.attribute, finding.torch_value, finding.paddle_value, finding.visible_in_eval) == (
        "epsilon",
        1e-5,
        1e-3,
        True,
    )
    assert len(result.lint) == 2  # both BatchNorms are linted, the second one attached to nothing


def test_wrong_conv_weight_is_the_layer_and_everything_after_it_is_upstream() -> None:
    torch_model, paddle_model = same_names_convnet()
    with_same_weights(torch_model, paddle_model)
    conv = paddle_model[4]
    conv.weight.set_value(conv.weight.numpy() * 1.01)
    result = localize(torch_model, paddle_model, example_input())
    assert (result.first.paddle_name, result.first.paddle_type) == ("4", "Conv2D")
    assert [check.verdict for check in result.isolated] == ["layer", "upstream", "upstream", "upstream"]
    assert [check.layer.paddle_name for check in result.isolated] == ["4", "5", "6", "7"]
    assert result.lint == []  # a weight is not a configuration: nothing for lint to say


def test_untransposed_square_linear_is_named() -> None:
    torch_model, paddle_model = square_linear_mlp("nn")
    with_same_weights(torch_model, paddle_model)
    first = paddle_model[0]
    first.weight.set_value(first.weight.numpy().T)  # what a copy by shape alone does
    result = localize(torch_model, paddle_model, example_input((4, 16)))
    assert (result.first.paddle_name, result.first.paddle_type, result.verdict) == ("0", "Linear", "layer")
    assert [check.verdict for check in result.isolated[1:]] == ["upstream", "upstream"]


def test_bn_momentum_mismatch_is_found_although_the_forward_matches() -> None:
    torch_model, paddle_model = same_names_convnet()
    for layer in paddle_model.sublayers():
        if isinstance(layer, paddle.nn.BatchNorm2D):
            layer._momentum = 0.1  # torch's value copied verbatim: Paddle wants 1 - 0.1
    result = localized((torch_model, paddle_model))
    assert result.first is None
    assert [(f.paddle_layer, f.attribute, f.expected_paddle_value, f.visible_in_eval) for f in result.lint] == [
        ("1", "momentum", 0.9, False),
        ("5", "momentum", 0.9, False),
    ]


def test_near_zero_reference_output_warns_that_the_check_proves_nothing() -> None:
    torch_model, paddle_model = same_names_convnet()
    with torch.no_grad():
        torch_model[10].weight.mul_(1e-7)
        torch_model[10].bias.zero_()
    result = localized((torch_model, paddle_model))
    assert result.first is None
    assert len(result.warnings) == 1 and "proves nothing" in result.warnings[0]
    assert "checkpoint" in result.warnings[0]


def test_extra_paddle_layer_is_left_unpaired_and_the_rest_still_lines_up() -> None:
    torch_model, paddle_model = same_names_convnet()
    with_same_weights(torch_model, paddle_model)
    extra = paddle.nn.Sequential(paddle.nn.Tanh(), paddle_model)  # a layer the reference does not have
    result = localize(torch_model, extra.eval(), example_input())
    assert result.unpaired_paddle == ["0"]
    assert result.first is not None and result.first.torch_type == "Conv2d"  # the tanh changed its input
    assert result.verdict == "upstream"  # the conv is right: the unpaired tanh before it is the cause


def test_json_object_has_the_contract_keys_and_is_serialisable() -> None:
    result = localized(disjoint_names_convnet(maxpool_ceil_mode=True))
    data = json.loads(json.dumps(result.to_json()))
    first = data["first_divergence"]
    assert set(first) >= {
        "reference_layer",
        "paddle_layer",
        "reference_type",
        "paddle_type",
        "reference_shape",
        "paddle_shape",
        "mean",
        "max",
        "rel",
        "verdict",
        "isolated",
        "lint",
    }
    assert first["paddle_shape"] == [2, 8, 6, 6] and first["lint"][0]["attribute"] == "ceil_mode"
    assert [point["index"] for point in data["layers"]] == list(range(11))
    assert data["layers"][3]["diverged"] is True and data["layers"][2]["diverged"] is False


def test_backward_compares_parameter_gradients_per_layer() -> None:
    torch_model, paddle_model = square_linear_mlp("nn")
    with_same_weights(torch_model, paddle_model)
    result = localize(torch_model, paddle_model, example_input((4, 16)), backward=True)
    assert [(g.paddle_name, g.parameter) for g in result.gradients] == [
        ("0", "weight"),
        ("0", "bias"),
        ("2", "weight"),
        ("2", "bias"),
    ]
    assert not any(g.diff.diverged for g in result.gradients)  # the [in, out] gradient is transposed back
    assert result.first_gradient_divergence is None


def test_backward_finds_the_gradients_a_wrong_weight_spoils() -> None:
    torch_model, paddle_model = square_linear_mlp("nn")
    with_same_weights(torch_model, paddle_model)
    last = paddle_model[2]
    last.weight.set_value(last.weight.numpy() * 1.1)
    result = localize(torch_model, paddle_model, example_input((4, 16)), backward=True)
    assert result.first.paddle_name == "2"
    # layer 2's own gradients do not depend on its weight; the gradients flowing back through it do
    assert [(g.paddle_name, g.parameter) for g in result.gradients if g.diff.diverged] == [
        ("0", "weight"),
        ("0", "bias"),
    ]
    assert result.first_gradient_divergence.paddle_name == "0"


def test_demo_resnet18_maxpool_twin_names_the_maxpool() -> None:
    from demo_port import paddle_model as paddle_demo
    from demo_port import torch_model as torch_demo

    torch.manual_seed(0)
    result = localized((torch_demo.resnet18().eval(), paddle_demo.resnet18(maxpool_ceil_mode=True).eval()))
    assert (result.first.torch_name, result.first.paddle_name, result.verdict) == ("maxpool", "maxpool", "layer")
    assert [f.attribute for f in result.first_findings] == ["ceil_mode"]
