"""The init step on a small Embedding + conv + LayerNorm + Linear twin pair, real torch and paddle: a twin that
passes torch's init as initializers passes across seeds; one left on Paddle's defaults fails, each differing
layer named with the initializer that matches."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from workspaces import run_step, set_config

from paddle_port_checks.init_stats import kind_differs, statistics, tolerances

TWINS = Path(__file__).parent / "init_twins"
CONFIG = """\
[reference]
model = "init_twins.torch_side:tagger"

[paddle]
model = "init_twins.paddle_side:faithful"

[inputs.ids]
shape = [2, 8]
dtype = "int64"
high = 64

[run]
seed = 33
"""


@pytest.fixture
def twins(tmp_path: Path) -> Path:
    shutil.copytree(TWINS, tmp_path / "init_twins", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "paddle_port.toml").write_text(CONFIG)
    return tmp_path


def _failed(result: dict) -> list[str]:
    return [k["key"] for k in result["keys"] if not k["passed"]]


@pytest.mark.parametrize("seed", [1, 33, 2024])
def test_faithful_init_passes_across_seeds(twins: Path, seed: int) -> None:
    set_config(twins, "seed = 33", f"seed = {seed}")
    code, result = run_step(twins, "init")
    assert code == 0, _failed(result) or result["error"]
    keys = {k["key"] for k in result["keys"]}
    assert {"std/head.weight", "max/conv.bias", "mean/embed.weight", "min/norm.weight"} <= keys
    assert result["lint"] == []
    assert {Path(path).name for path in result["evidence"]} == {"init_ref.npy", "init_paddle.npy", "init_diff.log"}


def test_paddle_defaults_fail_naming_each_layer_and_its_initializer(twins: Path) -> None:
    set_config(twins, "paddle_side:faithful", "paddle_side:defaults")
    code, result = run_step(twins, "init")
    assert code == 1
    failed = _failed(result)
    for name in ("head.weight", "head.bias", "conv.weight", "conv.bias", "embed.weight"):
        assert any(key.endswith("/" + name) for key in failed), (name, failed)
    assert not any("norm." in key for key in failed)  # LayerNorm's ones and zeros agree in both frameworks
    findings = {(f["paddle_layer"], f["attribute"]): f for f in result["lint"]}
    assert set(findings) == {
        ("head", "weight init"),
        ("head", "bias init"),
        ("conv", "weight init"),
        ("conv", "bias init"),
        ("embed", "weight init"),
    }
    assert "KaimingUniform(negative_slope=math.sqrt(5)" in findings[("head", "weight init")]["fix"]
    assert "weight_attr=paddle.ParamAttr" in findings[("conv", "weight init")]["fix"]
    assert "Uniform(-0.25, 0.25)" in findings[("head", "bias init")]["fix"]  # 1 / sqrt(16)
    assert "Normal(0.0, 1.0)" in findings[("embed", "weight init")]["fix"]
    assert "names no initializer" in findings[("head", "weight init")]["why"]
    assert "XavierUniform" in findings[("head", "weight init")]["why"]


def test_evidence_loads_with_reprod_log(twins: Path) -> None:
    from reprod_log import ReprodDiffHelper

    run_step(twins, "init")
    helper = ReprodDiffHelper()
    ref = helper.load_info(str(twins / "result" / "init_ref.npy"))
    assert float(ref["std/head.weight"]) == pytest.approx(1 / math.sqrt(16) / math.sqrt(3), rel=0.2)


@pytest.mark.parametrize("draw", ["uniform", "normal", "truncated"])
def test_tolerances_pass_independent_draws_and_tell_the_defaults_apart(draw: str) -> None:
    """No false failure over 300 pairs at each size, while torch's Linear default and Paddle's are told apart."""
    rng = np.random.default_rng(7)
    sample = {
        "uniform": lambda n: rng.uniform(-1, 1, n),
        "normal": lambda n: rng.normal(0, 1, n),
        "truncated": lambda n: np.clip(rng.normal(0, 1, 3 * n), -2, 2)[:n],
    }[draw]
    for size in (8, 9, 40, 160, 5000):
        for _ in range(300):
            ref, ours = statistics(sample(size)), statistics(sample(size))
            limits = tolerances(ref, ours, 5.0)
            assert all(abs(ref.value(name) - ours.value(name)) <= limits[name] for name in limits), (size, ref, ours)
    torch_bound, xavier = 1 / math.sqrt(16), math.sqrt(6 / (16 + 10))
    ref, ours = statistics(rng.uniform(-torch_bound, torch_bound, 160)), statistics(rng.uniform(-xavier, xavier, 160))
    limits = tolerances(ref, ours, 5.0)
    assert abs(ref.std - ours.std) > limits["std"]


def test_a_zero_bias_against_a_varying_one_is_told_at_any_size() -> None:
    varying, zeros = statistics(np.array([0.1, -0.3, 0.2])), statistics(np.zeros(3))
    assert kind_differs(varying, zeros) == "paddle's values are all 0 while the reference's vary"
    assert kind_differs(varying, statistics(np.array([0.2, 0.1, -0.1]))) == ""
    assert kind_differs(zeros, zeros) == ""
