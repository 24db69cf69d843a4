"""Predict for any model: one InputSpec per input, oneDNN's gaps on CPU fallen back from, classifiers only
get class ids (real paddle: export with paddle.jit.save, run with Paddle Inference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle
import pytest

from paddle_port_checks.config import load_config
from paddle_port_checks.context import CheckContext
from paddle_port_checks.device import parse_device
from paddle_port_checks.steps import predict

CONFIG = '[reference]\nmodel = "m:t"\n[paddle]\nmodel = "m:p"\n[predict]\nonednn = {onednn}\n'


class Upsampling(paddle.nn.Layer):
    """Bilinear interpolate: its exported attributes are what oneDNN cannot run on CPU in Paddle 3.3.1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 4, 3, padding=1)
        self.up = paddle.nn.Upsample(scale_factor=2, mode="bilinear")

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.up(self.conv(x)).mean(axis=[2, 3])


class TwoInputs(paddle.nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.embed = paddle.nn.Embedding(30, 4)

    def forward(self, input_ids: paddle.Tensor, attention_mask: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        hidden = self.embed(input_ids) * attention_mask.unsqueeze(-1).astype("float32")
        return hidden.sum(1), hidden


def context(tmp_path: Path, onednn: bool = True) -> CheckContext:
    (tmp_path / "paddle_port.toml").write_text(CONFIG.format(onednn=str(onednn).lower()))
    config = load_config(tmp_path / "paddle_port.toml")
    made = CheckContext("predict", config, parse_device("cpu"), parse_device("cpu"), fresh=False)
    made.paddle()
    return made


def test_an_op_onednn_cannot_run_falls_back_with_a_note_and_the_same_numbers(tmp_path: Path) -> None:
    model = Upsampling()
    model.eval()
    x = np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)
    ctx = context(tmp_path)
    outputs, files = predict.export_and_infer(ctx, model, x)
    assert np.abs(outputs["output_0"] - model(paddle.to_tensor(x)).numpy()).max() < 1e-6
    assert any("oneDNN failed" in warning and "onednn = false" in warning for warning in ctx.warnings)
    assert all((tmp_path / path).is_file() for path in files)
    (tmp_path / "off").mkdir()
    quiet = context(tmp_path / "off", onednn=False)
    predict.export_and_infer(quiet, model, x)
    assert quiet.warnings == [], "with [predict] onednn = false there is nothing to fall back from"


def test_every_named_input_gets_an_input_spec_and_every_output_comes_back(tmp_path: Path) -> None:
    model = TwoInputs()
    model.eval()
    rng = np.random.default_rng(1)
    batch = {"input_ids": rng.integers(0, 30, (2, 5)), "attention_mask": np.ones((2, 5), dtype=np.int64)}
    outputs, _ = predict.export_and_infer(context(tmp_path), model, batch)
    pooled, hidden = model(**{name: paddle.to_tensor(value) for name, value in batch.items()})
    assert list(outputs) == ["output_0", "output_1"]
    assert np.abs(outputs["output_0"] - pooled.numpy()).max() < 1e-6
    assert np.abs(outputs["output_1"] - hidden.numpy()).max() < 1e-6


@pytest.mark.parametrize(
    ("scores", "classifier"),
    [
        (np.zeros((1, 10), np.float32), True),
        (np.zeros((1, 3, 8, 8), np.float32), False),
        (np.zeros((1, 1), np.float32), False),
        (np.zeros((1, 10), np.int64), False),
    ],
)
def test_class_ids_only_for_a_classifiers_scores(scores: np.ndarray, classifier: bool) -> None:
    assert predict.is_classifier(scores) is classifier
