"""Named and integer inputs, one contract for every step that runs a model; outputs paired by structure."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from workspaces import key, run_step

from paddle_port_checks.config import ConfigError, parse_config
from paddle_port_checks.inputs import fixed_inputs

TWINS = Path(__file__).parent / "input_twins"
TEXT_CONFIG = """\
[reference]
model = "input_twins.torch_side:build"
kwargs = {reference_kwargs}

[paddle]
model = "input_twins.paddle_side:build"
kwargs = {paddle_kwargs}

[inputs.input_ids]
shape = [2, 6]
dtype = "int64"
low = 1
high = 50

[inputs.attention_mask]
shape = [2, 6]
dtype = "int64"
{mask}
"""


def text_workspace(root: Path, reference_kwargs: str = "{}", paddle_kwargs: str = "{}", mask: str = "fill = 1") -> Path:
    shutil.copytree(TWINS, root / "input_twins", ignore=shutil.ignore_patterns("__pycache__"))
    config = TEXT_CONFIG.format(reference_kwargs=reference_kwargs, paddle_kwargs=paddle_kwargs, mask=mask)
    (root / "paddle_port.toml").write_text(config)
    return root


def test_integer_inputs_are_drawn_inside_the_vocabulary_and_named_inputs_keep_their_order(tmp_path: Path) -> None:
    config = parse_config(
        TEXT_CONFIG.format(reference_kwargs="{}", paddle_kwargs="{}", mask="fill = 1"), tmp_path / "paddle_port.toml"
    )
    inputs = fixed_inputs(config)
    assert list(inputs.arrays) == ["input_ids", "attention_mask"] and not inputs.positional
    ids = inputs.arrays["input_ids"]
    assert ids.dtype == np.int64 and ids.min() >= 1 and ids.max() < 50 and len(np.unique(ids)) > 3
    assert (inputs.arrays["attention_mask"] == 1).all()
    assert np.array_equal(fixed_inputs(config).arrays["input_ids"], ids), "seeded: the same every run"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[inputs.ids]\nshape = [2, 4]\ndtype = "int64"\n', r"\[inputs.ids.high\] is required for an integer input"),
        ("[input]\nshape = [1, 3]\n[inputs.x]\nshape = [1, 3]\n", r"\[inputs\] give \[input\]"),
        ("[inputs.x]\nshape = [1, 3]\nhigh = 4\n", r"\[inputs.x.high\] applies to integer inputs only"),
        ('[inputs.ids]\nshape = [2]\ndtype = "int64"\nlow = 5\nhigh = 5\n', r"\[inputs.ids.high\] must be greater"),
        ('[inputs.x]\ndtype = "float32"\n', r"\[inputs.x.shape\] is required"),
    ],
)
def test_bad_input_tables_are_one_line_errors_naming_the_key(tmp_path: Path, table: str, message: str) -> None:
    text = '[reference]\nmodel = "a:b"\n[paddle]\nmodel = "c:d"\n' + table
    with pytest.raises(ConfigError, match=message):
        parse_config(text, tmp_path / "paddle_port.toml")


def test_a_model_with_named_integer_inputs_passes_forward_and_weights(tmp_path: Path) -> None:
    ws = text_workspace(tmp_path)
    code, result = run_step(ws, "forward")
    assert code == 0, result["error"]
    assert key(result, "logits")["mean"] < 1e-6
    code, result = run_step(ws, "weights")
    assert code == 0, result["error"]
    assert key(result, "weight/embed.weight")["max"] == 0.0 and key(result, "logits")["passed"]
    assert not any(entry["key"].startswith("eval_") for entry in result["keys"]), "no data: no eval comparison"


def test_a_bug_behind_named_inputs_fails_with_its_numbers(tmp_path: Path) -> None:
    ws = text_workspace(tmp_path, paddle_kwargs="{ mask_ignored = true }", mask="low = 0\nhigh = 2")
    code, result = run_step(ws, "forward")
    assert code == 1 and result["status"] == "failed"
    assert key(result, "logits")["mean"] > 1e-3


def test_a_model_that_cannot_take_the_inputs_is_an_error_naming_the_parameter(tmp_path: Path) -> None:
    ws = text_workspace(tmp_path)
    config = ws / "paddle_port.toml"
    config.write_text(config.read_text().split("[inputs.attention_mask]")[0])
    code, result = run_step(ws, "forward")
    assert code == 2 and result["status"] == "error"
    assert "attention_mask" in result["error"] and "[inputs]" in result["error"]
    assert "Traceback" not in result["error"]


def test_outputs_of_different_structure_are_paired_by_position_and_caches_skipped(tmp_path: Path) -> None:
    ws = text_workspace(tmp_path, reference_kwargs='{ returns = "dict" }', paddle_kwargs='{ returns = "tuple" }')
    code, result = run_step(ws, "forward")
    assert code == 0, result["error"]
    assert [entry["key"] for entry in result["keys"]] == ["logits", "pooled"]
    assert any("paired by position" in warning for warning in result["warnings"])
    assert any("past_key_values" in warning for warning in result["warnings"])
