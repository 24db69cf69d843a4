"""Verdicts that tell a bug from float noise (real torch and paddle). Float64 replay: exact-vs-tanh GELU fails
under a threshold it passes in float32, a faithful twin's float32 difference is called noise, a Paddle model
that cannot run in float64 is measured against the reference's noise floor instead. Tolerances: atol/rtol
per step and per key, each verdict naming its rule."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from workspaces import key, run_step, set_config

from paddle_port_checks import events
from paddle_port_checks.replay import MATH_DIFFERS, NOISE, TRAINING_MATH_DIFFERS_RATIO, KeyReplay
from paddle_port_checks.steps import forward
from paddle_port_tui.demo import make_checkpoint, write_demo

PADDLE_KWARGS = 'kwargs = { vocab_size = 200, num_classes = 3 }\ndataset = "demo_port.text.paddle_data'


@pytest.fixture(scope="module")
def text_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_demo(tmp_path_factory.mktemp("text") / "demo", "text")
    make_checkpoint(root, sys.executable, "text")
    return root


@pytest.fixture
def demo(text_demo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(text_demo, tmp_path / "demo"))


def test_a_faithful_twin_differs_by_noise_and_passes(demo: Path) -> None:
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    assert code == 0, result["error"]
    logits = key(result, "logits")
    assert logits["mean"] > 0, "not bit-exact: the replay has something to explain"
    assert logits["noise_verdict"] == NOISE
    assert logits["float64_diff"] < 1e-12 < logits["noise_floor"]


def test_exact_vs_tanh_gelu_fails_by_float64_replay_under_a_threshold_it_passes(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_config(
        demo, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 3", "num_classes = 3, gelu_approximate = true")
    )
    (demo / "paddle_port.toml").write_text((demo / "paddle_port.toml").read_text() + "\n[thresholds]\nforward = 1e-3\n")
    emitted: list[dict[str, Any]] = []  # as the pipe carries them: JSON at the moment of emitting
    monkeypatch.setattr(events, "emit", lambda event: emitted.append(event.to_json()))
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    assert code == 1
    live = [event["diff"] for event in emitted if event["kind"] == "key" and event["diff"]["key"] == "logits"]
    assert live[0]["passed"] and not live[-1]["passed"], "the live view's last word on the key is the replay's"
    logits = key(result, "logits")
    assert logits["mean"] < 1e-3, "the float32 threshold alone would pass it"
    assert logits["noise_verdict"] == MATH_DIFFERS and not logits["passed"]
    assert logits["rule"].startswith("float64 replay: the math differs")
    assert logits["float64_diff"] > 1e-6, "the difference does not shrink in float64"
    first = result["first_divergence"]
    assert (first["reference_type"], first["paddle_layer"]) == ("GELU", "blocks.0.ffn.1"), "localised in float64"


# A Paddle twin without a float64 kernel: its forward refuses float64, as some ops do.
NO_FLOAT64 = """
import paddle
import torch


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return torch.tanh(self.fc(x)) * 3


class PaddleNet(paddle.nn.Layer):
    def __init__(self, scale=3.0):
        super().__init__()
        self.fc = paddle.nn.Linear(8, 4)
        self.scale = scale

    def forward(self, x):
        if x.dtype == paddle.float64:
            raise NotImplementedError("no float64 kernel for this op")
        return paddle.tanh(self.fc(x)) * self.scale
"""


def no_float64_workspace(root: Path, scale: float) -> Path:
    (root / "nets.py").write_text(NO_FLOAT64)
    (root / "paddle_port.toml").write_text(
        f'[reference]\nmodel = "nets:TorchNet"\n[paddle]\nmodel = "nets:PaddleNet"\nkwargs = {{ scale = {scale} }}\n'
        "[input]\nshape = [16, 8]\n"
    )
    return root


def test_without_float64_on_the_paddle_side_the_difference_is_a_multiple_of_the_noise_floor(tmp_path: Path) -> None:
    code, result = run_step(no_float64_workspace(tmp_path, 3.00001), "forward", after_compare=forward.explain)
    assert code == 0, result["error"]
    logits = key(result, "logits")
    assert logits["float64_diff"] is None and logits["noise_floor"] > 0
    assert logits["noise_verdict"].endswith("x the noise floor"), logits["noise_verdict"]
    assert any("does not run in float64" in warning for warning in result["warnings"])


def test_a_bit_exact_output_needs_no_replay(tmp_path: Path) -> None:
    (tmp_path / "exact_nets.py").write_text(BIT_EXACT)  # its own module: `nets` of another test stays imported
    (tmp_path / "paddle_port.toml").write_text(
        '[reference]\nmodel = "exact_nets:TorchDouble"\n[paddle]\nmodel = "exact_nets:PaddleDouble"\n'
        "[input]\nshape = [16, 8]\n"
    )
    code, result = run_step(tmp_path, "forward", after_compare=forward.explain)
    assert code == 0, result["error"]
    assert key(result, "logits")["max"] == 0.0
    assert result["details"]["float64_replay"] == "not needed: every float output is bit-exact"
    assert key(result, "logits")["noise_verdict"] == ""


# Doubling is exact in any float format: both frameworks agree to the bit.
BIT_EXACT = """
import paddle
import torch


class TorchDouble(torch.nn.Module):
    def forward(self, x):
        return x * 2


class PaddleDouble(paddle.nn.Layer):
    def forward(self, x):
        return x * 2
"""


@pytest.mark.parametrize(
    ("float64_diff", "noise_floor", "float32_diff", "verdict"),
    [
        (1e-16, 1e-7, 2e-7, NOISE),
        (1e-5, 1e-7, 1e-5, MATH_DIFFERS),
        (None, 1e-7, 5e-7, NOISE),
        (None, 1e-7, 5e-5, "500x the noise floor"),
        (0.0, 0.0, 0.0, NOISE),
        (1e-9, 0.0, 0.0, MATH_DIFFERS),
    ],
)
def test_the_verdict_rule(float64_diff: float | None, noise_floor: float, float32_diff: float, verdict: str) -> None:
    assert KeyReplay(float64_diff, noise_floor).verdict(float32_diff) == verdict


def test_the_training_ratio_calls_the_demos_float64_trace_noise_and_a_planted_bug_math() -> None:
    """Figures measured on the demo ResNet-18's backward step: a running variance 1e-5 apart in float32, 2.04e-8
    in float64 (Paddle's float32 constants), 2.46e-6 of float32 rounding in the reference; and a BatchNorm
    momentum copied from torch on the training twins."""
    assert KeyReplay(2.04e-8, 2.46e-6).verdict(1e-5) == MATH_DIFFERS  # one forward's rule would call it math
    assert KeyReplay(2.04e-8, 2.46e-6, TRAINING_MATH_DIFFERS_RATIO).verdict(1e-5) == NOISE
    assert KeyReplay(0.0834, 4.38e-10, TRAINING_MATH_DIFFERS_RATIO).verdict(0.0834) == MATH_DIFFERS


def test_atol_and_rtol_decide_a_step_and_a_key_names_its_rule(demo: Path) -> None:
    config = demo / "paddle_port.toml"
    body = config.read_text()
    config.write_text(body + "\n[thresholds.forward]\natol = 0\nrtol = 0\n")  # bit-exact or nothing
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    logits = key(result, "logits")
    assert code == 1 and not logits["passed"]
    assert logits["rule"].startswith("|paddle - ref| <= 0 + 0 * |ref| at every element; float64 replay: rounding noise")
    config.write_text(body + "\n[thresholds.forward]\nkeys = { logits = { atol = 1e-5, rtol = 1e-4 } }\n")
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    assert code == 0, result["error"]
    assert key(result, "logits")["rule"] == "|paddle - ref| <= 1e-05 + 0.0001 * |ref| at every element"
