"""Pitfall lint for attention, recurrent and embedding layers (real torch and paddle layers)."""

from __future__ import annotations

import paddle
import pytest
import torch

from paddle_port_checks.lint import lint


class TorchText(torch.nn.Module):
    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(20, 8, padding_idx=0)
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.lstm = torch.nn.LSTM(8, 8, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1)


class PaddleText(paddle.nn.Layer):
    def __init__(
        self, padding_idx: int = 0, time_major: bool = False, direction: str = "bidirect", dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.embed = paddle.nn.Embedding(20, 8, padding_idx=padding_idx)
        self.attention = paddle.nn.MultiHeadAttention(8, 2)
        self.lstm = paddle.nn.LSTM(8, 8, num_layers=2, direction=direction, time_major=time_major, dropout=dropout)


def findings(torch_model: torch.nn.Module, paddle_model: paddle.nn.Layer) -> dict[str, tuple[object, object, bool]]:
    return {
        f"{f.paddle_layer}.{f.attribute}": (f.torch_value, f.paddle_value, f.visible_in_eval)
        for f in lint(torch_model, paddle_model)
    }


def test_a_faithful_text_twin_has_no_findings_and_units_pair_whole() -> None:
    assert findings(TorchText(), PaddleText()) == {}


@pytest.mark.parametrize(
    ("torch_kwargs", "paddle_kwargs", "expected"),
    [
        ({}, {"padding_idx": 1}, {"embed.padding_idx": (0, 1, True)}),
        ({}, {"padding_idx": -20}, {}),  # Paddle keeps -20 as written; torch would count it from the end: 0
        ({}, {"time_major": True}, {"lstm.time_major": (False, True, True)}),
        ({}, {"direction": "forward"}, {"lstm.direction": ("bidirect", "forward", True)}),
        ({}, {"dropout": 0.0}, {"lstm.dropout": (0.1, 0.0, False)}),
        ({"batch_first": False}, {}, {"attention.batch_first": (False, True, True)}),
    ],
)
def test_each_convention_mismatch_is_one_finding(torch_kwargs: dict, paddle_kwargs: dict, expected: dict) -> None:
    assert findings(TorchText(**torch_kwargs), PaddleText(**paddle_kwargs)) == expected


class TorchFunctional(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.gelu(self.proj(x), approximate="tanh")
        return torch.nn.functional.interpolate(x[:, None], scale_factor=2, mode="linear", align_corners=False)


class PaddleFunctional(paddle.nn.Layer):
    """The faithful twin, with a branch the source shows but the run never takes: no false alarm."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = paddle.nn.Linear(4, 4)
        self.legacy = False

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = paddle.nn.functional.gelu(self.proj(x), approximate=True)
        if self.legacy:
            return paddle.nn.functional.interpolate(x[:, None], scale_factor=2, mode="linear", align_corners=True)
        return paddle.nn.functional.interpolate(x[:, None], scale_factor=2, mode="linear", align_corners=False)


class PaddleExactGelu(paddle.nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.proj = paddle.nn.Linear(4, 4)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = paddle.nn.functional.gelu(self.proj(x))
        return paddle.nn.functional.interpolate(x[:, None], scale_factor=2, mode="linear", align_corners=False)


def test_functional_calls_in_the_porters_forward_are_linted_from_their_source() -> None:
    assert findings(TorchFunctional(), PaddleFunctional()) == {}
    exact = lint(TorchFunctional(), PaddleExactGelu())
    assert [(f.attribute, f.torch_value, f.paddle_value) for f in exact] == [("approximate", "tanh", "none")]
    assert (
        exact[0].paddle_layer.startswith("test_lint_sequence.py:")
        and "PaddleExactGelu.forward" in exact[0].paddle_layer
    )
    # the fix in Paddle's own spelling (approximate is a bool there), and the call's file:line as a path
    assert exact[0].fix == "paddle.nn.functional.gelu(approximate=True)" and exact[0].severity == "error"
    line = exact[0].paddle_layer.split(":")[1].split(" ")[0]
    assert exact[0].defined_at.endswith(f"tests/test_lint_sequence.py:{line}")


class TorchComputedGelu(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)
        self.approximate = "tanh"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.gelu(self.proj(x), approximate=self.approximate)
        return torch.nn.functional.interpolate(x[:, None], scale_factor=2, mode="linear", align_corners=False)


def test_a_computed_setting_is_unknown_and_never_a_finding() -> None:
    assert findings(TorchComputedGelu(), PaddleFunctional()) == {}
