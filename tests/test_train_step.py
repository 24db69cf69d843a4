"""The train step on the tiny conv + BatchNorm + Linear twin pair, real torch and paddle: a faithful twin's short
run passes, a wrong learning rate fails on the loss curve; the porter's full-training results are held to the
guide's 0.15 points and the Paddle log to the TIPC fields."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_training_steps import CONFIG, TWINS
from workspaces import run_step, set_config

from paddle_port_checks.training_results import last_accuracy, missing_tipc_fields

TIPC_LINE = (
    "[Train][Epoch 120/120][Iter: 2500/2502]lr: 0.00010, top1: 0.81250, loss: 0.71234, avg_reader_cost: 0.01234 sec, "
    "avg_batch_cost: 0.31234 sec, avg_samples: 256.0, avg_ips: 819.61 images/sec\n"
)


@pytest.fixture
def twins(tmp_path: Path) -> Path:
    shutil.copytree(TWINS, tmp_path / "training_twins", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "paddle_port.toml").write_text(CONFIG + "train_iterations = 10\n")
    return tmp_path


def _failed(result: dict) -> list[str]:
    return [k["key"] for k in result["keys"] if not k["passed"]]


def test_faithful_short_run_passes_on_the_fixed_inputs(twins: Path) -> None:
    code, result = run_step(twins, "train")
    assert code == 0, _failed(result) or result["error"]
    keys = [k["key"] for k in result["keys"]]
    assert keys == [*(f"loss_{i}" for i in range(10)), "eval_acc_top1"]
    assert result["details"]["short_run"]["data"] == "the fixed inputs"
    assert {Path(path).name for path in result["evidence"]} == {"train_ref.npy", "train_paddle.npy", "train_diff.log"}


def test_a_different_learning_rate_fails_on_the_loss_curve(twins: Path) -> None:
    set_config(twins, "[reference]\n", '[reference]\noptimizer = "torch.optim:SGD"\noptimizer_kwargs = { lr = 0.1 }\n')
    paddle = '[paddle]\noptimizer = "paddle.optimizer:SGD"\noptimizer_kwargs = { learning_rate = 0.3 }\n'
    set_config(twins, "[paddle]\n", paddle)
    code, result = run_step(twins, "train")
    assert code == 1
    failed = _failed(result)
    assert "loss_0" not in failed and "loss_1" in failed  # the first update shows in the next loss


def test_full_training_accuracies_within_the_guides_tolerance(twins: Path) -> None:
    set_config(twins, "[train]\n", "[train]\nreference_accuracy = 76.12\npaddle_accuracy = 0.7601\n")
    code, result = run_step(twins, "train")
    assert code == 0, _failed(result)
    full = next(k for k in result["keys"] if k["key"] == "full_top1")
    assert full["max"] == pytest.approx(0.11) and full["threshold"] == 0.15


def test_full_training_accuracies_apart_fail(twins: Path) -> None:
    set_config(twins, "[train]\n", "[train]\nreference_accuracy = 0.7612\npaddle_accuracy = 0.7590\n")
    code, result = run_step(twins, "train")
    assert code == 1 and _failed(result) == ["full_top1"]


def test_paddle_log_without_tipc_fields_fails_naming_them(twins: Path) -> None:
    (twins / "torch.log").write_text("Epoch: [119] loss 0.91\nTest:  Acc@1 76.130 Acc@5 92.862\n")
    (twins / "paddle.log").write_text("epoch 120, loss: 0.7123, top1: 0.7609\n")
    set_config(twins, "[train]\n", '[train]\nreference_log = "torch.log"\npaddle_log = "paddle.log"\n')
    code, result = run_step(twins, "train")
    assert code == 1
    assert sorted(_failed(result)) == ["tipc/avg_batch_cost", "tipc/avg_ips", "tipc/avg_reader_cost"]
    problem = next(k for k in result["keys"] if k["key"] == "tipc/avg_ips")["problem"]
    assert "paddle.log has no 'avg_ips' field" in problem
    full = next(k for k in result["keys"] if k["key"] == "full_top1")  # read from both logs: 76.13 and 76.09
    assert full["passed"] and full["max"] == pytest.approx(0.04)


def test_log_parsing() -> None:
    assert missing_tipc_fields(TIPC_LINE) == []
    assert missing_tipc_fields("loss: 1.0 avg_ips: 3") == ["avg_reader_cost", "avg_batch_cost"]
    assert last_accuracy(TIPC_LINE + "[Eval][Epoch 120][Avg]CELoss: 0.9, loss: 0.9, top1: 0.76090, top5: 0.9") == (
        pytest.approx(76.09)
    )
    assert last_accuracy("Test: Acc@1 76.130 Acc@5 92.862") == pytest.approx(76.13)
    assert last_accuracy("no accuracy here") is None
