"""Localisation that says what is wrong where: an activation swapped for another is the divergence itself,
and a difference born in functional code between layers is placed in the forward() that runs it."""

from __future__ import annotations

import numpy as np
import paddle
import torch

from paddle_port_checks.convert import convert_state_dict, load_into_paddle, torch_state_to_numpy
from paddle_port_checks.localize import localize


class TorchNet(torch.nn.Module):
    def __init__(self, align_corners: bool = False) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.act = torch.nn.Hardswish()
        self.block = TorchBlock(align_corners)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(4, 5)
        self.out_act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.act(self.stem(x)))
        return self.out_act(self.head(self.pool(x).flatten(1)))


class TorchBlock(torch.nn.Module):
    def __init__(self, align_corners: bool) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.interpolate(
            self.conv1(x), scale_factor=2, mode="bilinear", align_corners=self.align_corners
        )
        return self.conv2(x)


class PaddleNet(paddle.nn.Layer):
    def __init__(self, activation: str = "hardswish", align_corners: bool = False) -> None:
        super().__init__()
        self.stem = paddle.nn.Conv2D(3, 4, 3, padding=1)
        self.act = paddle.nn.Hardswish() if activation == "hardswish" else paddle.nn.ReLU()
        self.block = PaddleBlock(align_corners)
        self.pool = paddle.nn.AdaptiveAvgPool2D(1)
        self.head = paddle.nn.Linear(4, 5)
        self.out_act = paddle.nn.ReLU()

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.block(self.act(self.stem(x)))
        return self.out_act(self.head(self.pool(x).flatten(1)))


class PaddleBlock(paddle.nn.Layer):
    def __init__(self, align_corners: bool) -> None:
        super().__init__()
        self.conv1 = paddle.nn.Conv2D(4, 4, 3, padding=1)
        self.conv2 = paddle.nn.Conv2D(4, 4, 3, padding=1)
        self.align_corners = align_corners

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = paddle.nn.functional.interpolate(
            self.conv1(x), scale_factor=2, mode="bilinear", align_corners=self.align_corners
        )
        return self.conv2(x)


def twins(paddle_net: PaddleNet) -> tuple[TorchNet, PaddleNet, np.ndarray]:
    torch.manual_seed(0)
    reference = TorchNet().eval()
    state, report = convert_state_dict(torch_state_to_numpy(reference.state_dict()), paddle_net)
    assert report.ok and load_into_paddle(paddle_net, state).ok
    paddle_net.eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    return reference, paddle_net, x


def test_an_activation_swapped_for_another_is_named_as_a_type_mismatch_at_its_place() -> None:
    reference, port, x = twins(PaddleNet(activation="relu"))
    result = localize(reference, port, x)
    first = result.first
    assert first is not None and (first.torch_name, first.paddle_name) == ("act", "act")
    assert (first.torch_type, first.paddle_type) == ("Hardswish", "ReLU")
    assert "type mismatch" in (first.diff.problem or "") and result.verdict == "layer"
    assert result.location is None, "the layer itself is to blame: no functional code to point at"
    later = [layer for layer in result.layers if layer.index > first.index]
    assert [layer.torch_type.lower() for layer in later] == [layer.paddle_type.lower() for layer in later], "aligned"


def test_a_difference_born_in_functional_code_is_placed_in_the_forward_that_runs_it() -> None:
    reference, port, x = twins(PaddleNet(align_corners=True))
    result = localize(reference, port, x)
    assert result.first is not None and result.first.paddle_name == "block.conv2" and result.verdict == "upstream"
    assert result.location is not None
    assert result.location.startswith("in the forward() of block (PaddleBlock")
    assert "test_localize_structure.py:" in result.location and "between block.conv1 and block.conv2" in result.location
    assert result.first_divergence_json()["location"] == result.location


def test_a_faithful_twin_has_no_divergence_and_no_location() -> None:
    reference, port, x = twins(PaddleNet())
    result = localize(reference, port, x)
    assert result.first is None and result.location is None
