"""The loss and backward steps on a tiny conv + BatchNorm + Linear twin pair, real torch and paddle: a faithful
twin passes in train mode (the running-variance convention accounted for), and each planted training bug fails
where it should, named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from workspaces import key, run_step, set_config

from paddle_port_checks.config import ConfigError, parse_config
from paddle_port_checks.lint_training import lint_training
from paddle_port_checks.steps import backward

TWINS = Path(__file__).parent / "training_twins"
CONFIG = """\
[reference]
model = "training_twins.torch_side:classifier"

[paddle]
model = "training_twins.paddle_side:classifier"

[input]
shape = [4, 3, 6, 6]

[train]
iterations = 3
mode = "train"
"""
# A learning rate large enough that a different update shows in the next loss at once.
SGD = """[reference]
optimizer = "torch.optim:SGD"
optimizer_kwargs = { lr = 0.1, momentum = 0.9 }
"""


@pytest.fixture
def twins(tmp_path: Path) -> Path:
    shutil.copytree(TWINS, tmp_path / "training_twins", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "paddle_port.toml").write_text(CONFIG)
    return tmp_path


def _with(workspace: Path, table: str, lines: str) -> None:
    set_config(workspace, f"[{table}]\n", f"[{table}]\n{lines}\n")


def _backward(workspace: Path) -> tuple[int, dict]:
    return run_step(workspace, "backward", after_compare=backward.explain)


def _lint(result: dict, attribute: str) -> dict:
    return next(finding for finding in result["lint"] if finding["attribute"] == attribute)


def test_faithful_twin_passes_backward_in_train_mode_through_the_variance_convention(twins: Path) -> None:
    code, result = _backward(twins)
    assert code == 0, [k for k in result["keys"] if not k["passed"]] or result["error"]
    keys = {k["key"] for k in result["keys"]}
    assert {"loss_0", "lr_2", "grad/6.weight", "param/6.weight", "buffer/1._mean", "buffer/1._variance"} <= keys
    assert "eval/logits" in keys
    variance = result["details"]["running_variance"]
    # torch's unbiased update (n = 4 x 6 x 6 = 144 per channel) puts the raw variances visibly apart; in Paddle's
    # convention they agree to float rounding, and the eval output's drift is the same convention's.
    assert variance["smallest_n"] == 144 and variance["layers"] == 1
    assert variance["torch_convention_max_abs"] > 1e-4 > 1e-6 > variance["paddle_convention_max_abs"]
    assert result["details"]["eval_drift_torch_convention"]["logits"] > key(result, "eval/logits")["mean"]
    assert result["details"]["first_divergence"]["iteration"] is None
    assert {Path(path).name for path in result["evidence"]} == {
        "losses_ref.npy",
        "losses_paddle.npy",
        "backward_diff.log",
    }


def test_backward_evidence_loads_with_reprod_log(twins: Path) -> None:
    from reprod_log import ReprodDiffHelper

    _backward(twins)
    helper = ReprodDiffHelper()
    ref = helper.load_info(str(twins / "result/losses_ref.npy"))
    ours = helper.load_info(str(twins / "result/losses_paddle.npy"))
    assert ref["lr_0"] == ours["lr_0"] == np.float64(1e-3)
    assert abs(float(ref["loss_2"]) - float(ours["loss_2"])) < 1e-5
    lines = (twins / "result/log/backward_diff.log").read_text().splitlines()
    assert lines[0].endswith("root INFO: loss_0: ") and lines[-1].endswith("root INFO: diff check passed")


def test_a_float32_only_difference_passes_by_the_float64_replay_and_fails_with_the_replay_off(twins: Path) -> None:
    # The losses held to 1e-9: float32 rounding alone puts them ~1e-7 apart on these twins, float64 ~1e-11.
    held = "\n[thresholds.backward]\nkeys = { loss_1 = 1e-9, loss_2 = 1e-9 }\n"
    (twins / "paddle_port.toml").write_text(CONFIG + held)
    code, result = _backward(twins)
    assert code == 0, [k for k in result["keys"] if not k["passed"]] or result["error"]
    replayed = result["details"]["float64_replay"]
    assert replayed and all(figures["verdict"] == "noise" for figures in replayed.values())
    for name in replayed:
        diff = key(result, name)
        assert diff["passed"] and diff["rule"].startswith("float64 replay: rounding noise")
        assert diff["float64_diff"] < 1e-3 * diff["mean"]  # collapses by orders of magnitude: the same function
    assert result["details"]["first_divergence"]["iteration"] is None

    set_config(twins, "[thresholds.backward]", "[run]\nfloat64_replay = false\n\n[thresholds.backward]")
    code, result = _backward(twins)
    assert code == 1 and result["details"]["float64_replay"] == "off ([run] float64_replay = false)"
    assert {k["key"] for k in result["keys"] if not k["passed"]} == set(replayed)
    assert all(not key(result, name)["noise_verdict"] for name in replayed)


def test_bn_momentum_copied_from_torch_fails_on_the_running_statistics_and_passes_in_eval_mode(twins: Path) -> None:
    _with(twins, "paddle", "kwargs = { bn_momentum = 0.1 }")
    code, result = _backward(twins)
    assert code == 1
    first = result["details"]["first_divergence"]
    assert first["tensor"] in ("buffer/1._mean", "buffer/1._variance") and first["iteration"] is None
    assert not key(result, "buffer/1._mean")["passed"] and not key(result, "buffer/1._variance")["passed"]
    assert key(result, "buffer/1._mean")["noise_verdict"] == "math differs"  # a real bug: float64 does not help
    assert all(key(result, f"loss_{i}")["passed"] for i in range(3))  # train mode: batch statistics, same losses
    assert _lint(result, "momentum")["fix"] == "paddle.nn.BatchNorm2D(momentum=0.9)"
    # The evidence redoes the verdict: a failing tensor's arrays are saved, passing whole-model tensors are not.
    saved = np.load(twins / "result/losses_paddle.npy", allow_pickle=True).item()
    assert {"buffer/1._mean", "buffer/1._variance", "loss_0", "lr_0"} <= set(saved)
    assert not any(name.startswith("grad/") for name in saved) and "unsaved_arrays" in result["details"]

    set_config(twins, 'mode = "train"', 'mode = "eval"')
    code, result = _backward(twins)
    assert code == 0 and _lint(result, "momentum")["severity"] == "warning"  # the tutorials' check cannot see it


def test_torch_sgd_with_momentum_against_paddle_sgd_fails_at_iteration_1_naming_momentum(twins: Path) -> None:
    _with(twins, "reference", SGD.removeprefix("[reference]\n").strip())
    _with(twins, "paddle", 'optimizer = "paddle.optimizer:SGD"\noptimizer_kwargs = { learning_rate = 0.1 }')
    code, result = _backward(twins)
    assert code == 1
    assert result["details"]["first_divergence"]["iteration"] == 1  # the first update agrees, the second does not
    assert key(result, "loss_1")["passed"] and not key(result, "loss_2")["passed"]
    assert key(result, "loss_2")["noise_verdict"] == "math differs"
    finding = _lint(result, "momentum")
    assert finding["fix"] == "paddle.optimizer.Momentum(momentum=0.9)" and finding["paddle_type"] == "SGD"


def test_the_same_schedule_passes_and_one_that_never_steps_fails_at_the_first_lr_that_differs(twins: Path) -> None:
    _with(twins, "reference", 'scheduler = "torch.optim.lr_scheduler:StepLR"\nscheduler_kwargs = { step_size = 1 }')
    _with(twins, "paddle", 'scheduler = "paddle.optimizer.lr:StepDecay"\nscheduler_kwargs = { step_size = 1 }')
    code, result = _backward(twins)
    assert code == 0 and key(result, "lr_1")["passed"]
    assert np.isclose(np.load(twins / "result/losses_paddle.npy", allow_pickle=True).item()["lr_2"], 1e-5)

    set_config(twins, 'scheduler = "paddle.optimizer.lr:StepDecay"\nscheduler_kwargs = { step_size = 1 }\n', "")
    code, result = _backward(twins)
    assert code == 1 and result["details"]["first_divergence"]["key"] == "lr_1"
    assert key(result, "lr_0")["passed"] and not key(result, "lr_1")["passed"]
    assert key(result, "lr_1")["noise_verdict"] == "math differs"
    assert _lint(result, "learning_rate")["torch_value"] == "StepLR"


def test_weight_decay_coupling_mismatch_is_named(twins: Path) -> None:
    _with(twins, "reference", 'optimizer = "training_twins.torch_side:adam_factory"')
    _with(twins, "paddle", 'optimizer = "training_twins.paddle_side:adamw_factory"')
    code, result = _backward(twins)
    finding = _lint(result, "weight_decay")
    assert finding["fix"] == "paddle.optimizer.Adam(weight_decay=0.01)" and "decoupled" in finding["why"]


def test_loss_passes_and_a_different_label_smoothing_fails_it(twins: Path) -> None:
    code, result = run_step(twins, "loss")
    assert code == 0 and key(result, "loss")["mean"] < 1e-6
    assert {Path(path).name for path in result["evidence"]} == {"loss_ref.npy", "loss_paddle.npy", "loss_diff.log"}

    _with(twins, "reference", "loss_kwargs = { label_smoothing = 0.1 }")
    code, result = run_step(twins, "loss")
    assert code == 1 and key(result, "loss")["mean"] > 1e-3


def test_training_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "paddle_port.toml"
    cases = {
        '[train]\nmode = "fit"': "[train.mode] expected one of train, eval, got 'fit'",
        "[train]\niterations = 0": "[train.iterations] expected a positive integer, got 0",
        "[train]\nlabels = 3": "[train.labels] expected a path to a .npy of labels",
        "[train]\nepochs = 3": "[train.epochs] unknown key",
        'optimizer = "torch.optim:SGD"': "[paddle.optimizer] is required when [reference] optimizer is given",
        "loss_kwargs = 1": "[reference.loss_kwargs] expected an inline table",
        'scheduler = "StepLR"': '[reference.scheduler] expected "module:callable"',
    }
    for extra, message in cases.items():
        tables = CONFIG.replace('[train]\niterations = 3\nmode = "train"\n', "")
        text = (
            tables + "\n" + extra
            if extra.startswith("[train]")
            else tables.replace("[reference]\n", f"[reference]\n{extra}\n")
        )
        with pytest.raises(ConfigError) as error:
            parse_config(text, path)
        assert str(error.value).startswith(f"{path}: ") and message in str(error.value), str(error.value)
    config = parse_config(CONFIG, path)
    assert (config.train_iterations, config.train_mode, config.train_labels) == (3, "train", "")


def test_training_lint_reads_plain_settings() -> None:
    """No framework needed: the settings each side's objects report."""
    torch = {"optimizer": "AdamW", "momentum": None, "weight_decay": 0.05, "decoupled": True, "loss": "X"}
    paddle = {"optimizer": "Adam", "momentum": None, "weight_decay": 0.05, "decoupled": False, "loss": "X"}
    sides = [{**side, "loss_settings": {}, "scheduler": ""} for side in (torch, paddle)]
    (finding,) = lint_training(*sides)
    assert finding.attribute == "weight_decay" and finding.fix == "paddle.optimizer.AdamW(weight_decay=0.05)"
