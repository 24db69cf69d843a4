"""The text and sequence demos' planted faults fail the forward step where they are (real torch and paddle,
the real forward script's explanation: lint and the first divergence)."""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from workspaces import key, run_step

from paddle_port_checks.steps import forward
from paddle_port_tui.demo import CHECKPOINT, make_checkpoint, write_demo


@functools.cache
def demo_template(model: str) -> Path:
    """The demo workspace with its checkpoint, made once per test session and then copied."""
    root = write_demo(Path(tempfile.mkdtemp(prefix=f"paddle-port-{model}-")) / "ws", model)
    make_checkpoint(root, sys.executable, model)
    return root


def demo(tmp_path: Path, model: str, paddle_kwargs: str) -> Path:
    root = tmp_path / model
    shutil.copytree(demo_template(model), root)
    config = root / "paddle_port.toml"
    text = config.read_text()
    head, _, tail = text.partition("[paddle]")
    old = next(line for line in tail.splitlines() if line.startswith("kwargs"))
    new = old.replace("{", "{ " + paddle_kwargs + ",", 1)
    config.write_text(head + "[paddle]" + tail.replace(old, new, 1))
    assert (root / CHECKPOINT).is_file()
    return root


def failed_forward(root: Path) -> dict:
    code, result = run_step(root, "forward", after_compare=forward.explain)
    assert code == 1 and result["status"] == "failed", result["error"]
    return result


def test_a_layernorm_epsilon_twin_of_the_text_model_fails_at_that_layernorm(tmp_path: Path) -> None:
    result = failed_forward(demo(tmp_path, "text", "ln_epsilon = 1e-5"))
    first = result["first_divergence"]
    assert first["paddle_type"] == "LayerNorm" and first["verdict"] == "layer"
    assert first["paddle_layer"].endswith("norm1") and first["paddle_layer"].startswith("blocks.0")
    assert any(f["attribute"] == "epsilon" and f["paddle_layer"] == first["paddle_layer"] for f in result["lint"])


def test_a_gelu_approximate_twin_of_the_text_model_is_named_at_the_gelu(tmp_path: Path) -> None:
    result = failed_forward(demo(tmp_path, "text", "gelu_approximate = true"))
    assert key(result, "logits")["mean"] > 1e-5
    first = result["first_divergence"]
    assert first["paddle_type"] == "GELU" and first["verdict"] == "layer", first


def test_an_lstm_twin_with_time_major_flipped_fails_at_the_lstm(tmp_path: Path) -> None:
    result = failed_forward(demo(tmp_path, "sequence", "time_major = true"))
    first = result["first_divergence"]
    assert first["paddle_type"] == "LSTM" and first["paddle_layer"] == "lstm"
    assert any(f["attribute"] == "time_major" for f in result["lint"])


@pytest.mark.parametrize("model", ["text", "sequence"])
def test_the_faithful_demo_passes_forward_with_no_finding(tmp_path: Path, model: str) -> None:
    root = tmp_path / model
    shutil.copytree(demo_template(model), root)
    code, result = run_step(root, "forward", after_compare=forward.explain)
    assert code == 0 and result["lint"] == [], (result["error"], result["lint"])


def test_an_inverted_attention_mask_is_placed_in_the_first_attention_block(tmp_path: Path) -> None:
    result = failed_forward(demo(tmp_path, "text", "invert_mask = true"))
    first = result["first_divergence"]
    assert first["paddle_layer"].startswith("blocks.0.attn") and first["verdict"] == "upstream", first
    assert first["location"].startswith("in the forward() of blocks.0.attn (SelfAttention"), first["location"]
    assert "paddle_model.py:" in first["location"]
