"""The optimizer, loss and scheduler lint on real torch and paddle objects: each planted set-up mismatch is named
with the Paddle fix, and the faithful set-up of the same objects gives no finding (so each test fails without
its rule)."""

from __future__ import annotations

from typing import Any

import paddle
import pytest
import torch

from paddle_port_checks.lint_training import lint_training
from paddle_port_checks.training_facts import paddle_facts, torch_facts


def _models() -> tuple[torch.nn.Module, paddle.nn.Layer]:
    """A Linear and a norm on each side: a weight, a bias and two norm parameters."""
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4)), paddle.nn.Sequential(
        paddle.nn.Linear(3, 4), paddle.nn.LayerNorm(4)
    )


def _facts(
    torch_optimizer: Any,
    paddle_optimizer: Any,
    models: tuple[Any, Any],
    *,
    torch_loss: Any = None,
    paddle_loss: Any = None,
    schedulers: tuple[Any, Any] = (None, None),
    label_ndim: int = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    torch_loss = torch_loss or torch.nn.CrossEntropyLoss()
    paddle_loss = paddle_loss or paddle.nn.CrossEntropyLoss()
    return (
        torch_facts(torch_optimizer, torch_loss, schedulers[0]),
        paddle_facts(paddle_optimizer, paddle_loss, schedulers[1], models[1], label_ndim),
    )


def _attributes(findings: list[Any]) -> list[str]:
    return [finding.attribute for finding in findings]


def test_adam_betas_and_epsilon_are_named_in_paddles_spelling() -> None:
    models = _models()
    ours = torch.optim.Adam(models[0].parameters(), lr=1e-3, betas=(0.8, 0.99), eps=1e-6)
    faithful = paddle.optimizer.Adam(1e-3, beta1=0.8, beta2=0.99, epsilon=1e-6, parameters=models[1].parameters())
    assert lint_training(*_facts(ours, faithful, models)) == []
    defaults = paddle.optimizer.Adam(1e-3, parameters=models[1].parameters())  # Paddle's defaults: 0.9, 0.999, 1e-8
    findings = lint_training(*_facts(ours, defaults, models))
    assert _attributes(findings) == ["beta1", "beta2", "epsilon"]
    assert [finding.fix for finding in findings] == [
        "paddle.optimizer.Adam(beta1=0.8)",
        "paddle.optimizer.Adam(beta2=0.99)",
        "paddle.optimizer.Adam(epsilon=1e-06)",
    ]


def test_rmsprop_defaults_differ_between_the_frameworks() -> None:
    models = _models()
    ours = torch.optim.RMSprop(models[0].parameters(), lr=1e-3)  # alpha 0.99, eps 1e-8
    theirs = paddle.optimizer.RMSProp(1e-3, parameters=models[1].parameters())  # rho 0.95, epsilon 1e-6
    findings = lint_training(*_facts(ours, theirs, models))
    assert _attributes(findings) == ["epsilon", "rho"] and "defaults differ" in findings[1].why
    matched = paddle.optimizer.RMSProp(1e-3, rho=0.99, epsilon=1e-8, parameters=models[1].parameters())
    assert lint_training(*_facts(ours, matched, models)) == []


def test_paddle_l1decay_is_not_torchs_l2_weight_decay() -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    l2 = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters(), weight_decay=1e-4)
    assert lint_training(*_facts(ours, l2, models)) == []
    l1 = paddle.regularizer.L1Decay(1e-4)
    theirs = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters(), weight_decay=l1)
    (finding,) = lint_training(*_facts(ours, theirs, models))
    assert finding.attribute == "weight_decay" and "L2Decay(0.0001)" in finding.fix


def test_bias_and_norm_parameters_kept_out_of_decay_on_one_side_only() -> None:
    models = _models()
    decayed = [p for name, p in models[0].named_parameters() if name == "0.weight"]
    rest = [p for name, p in models[0].named_parameters() if name != "0.weight"]
    groups = [{"params": decayed}, {"params": rest, "weight_decay": 0.0}]
    ours = torch.optim.AdamW(groups, lr=1e-3, weight_decay=0.05)
    everything = paddle.optimizer.AdamW(1e-3, parameters=models[1].parameters(), weight_decay=0.05)
    (finding,) = lint_training(*_facts(ours, everything, models))
    assert finding.attribute == "apply_decay_param_fun"
    assert finding.torch_value == "1 of 4 parameters decayed" and finding.paddle_value == "4 of 4 parameters decayed"
    weight = models[1][0].weight.name
    chosen = paddle.optimizer.AdamW(
        1e-3, parameters=models[1].parameters(), weight_decay=0.05, apply_decay_param_fun=lambda n: n == weight
    )
    assert lint_training(*_facts(ours, chosen, models)) == []


def test_a_paddle_grad_clip_the_reference_loop_does_not_make_is_a_warning() -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    clip = paddle.nn.ClipGradByGlobalNorm(clip_norm=1.0)
    theirs = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters(), grad_clip=clip)
    (finding,) = lint_training(*_facts(ours, theirs, models))
    assert (finding.attribute, finding.severity, finding.paddle_value) == (
        "grad_clip",
        "warning",
        "ClipGradByGlobalNorm(1.0)",
    )
    assert "clip_grad_norm_" in finding.why
    plain = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters())
    assert lint_training(*_facts(ours, plain, models)) == []


def _stepped(scheduler: Any, optimizer: Any, steps: int = 3) -> list[float]:
    """The learning rate each of `steps` iterations used, the scheduler stepped after each."""
    rates = []
    for _ in range(steps):
        if hasattr(optimizer, "param_groups"):
            rates.append(float(optimizer.param_groups[0]["lr"]))
        else:
            rates.append(float(optimizer.get_lr()))
        scheduler.step()
    return rates


@pytest.mark.parametrize("torch_warms_up", [True, False])
def test_a_warm_up_on_one_side_only(torch_warms_up: bool) -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    if torch_warms_up:
        torch_scheduler: Any = torch.optim.lr_scheduler.LinearLR(ours, start_factor=0.1, total_iters=3)
        paddle_scheduler: Any = paddle.optimizer.lr.StepDecay(0.1, step_size=10)
    else:
        torch_scheduler = torch.optim.lr_scheduler.StepLR(ours, step_size=10)
        paddle_scheduler = paddle.optimizer.lr.LinearWarmup(0.1, warmup_steps=3, start_lr=0.01, end_lr=0.1)
    theirs = paddle.optimizer.Momentum(paddle_scheduler, 0.9, parameters=models[1].parameters())
    findings = lint_training(*_facts(ours, theirs, models, schedulers=(torch_scheduler, paddle_scheduler)))
    warmup = next(finding for finding in findings if finding.attribute == "warmup")
    assert warmup.expected_paddle_value == ("warm-up" if torch_warms_up else "no warm-up")

    matched = paddle.optimizer.lr.LinearWarmup(0.1, warmup_steps=3, start_lr=0.01, end_lr=0.1)
    if torch_warms_up:
        facts = _facts(ours, theirs, models, schedulers=(torch_scheduler, matched))
        assert "warmup" not in _attributes(lint_training(*facts))


def test_a_scheduler_that_never_moves_the_learning_rate_while_the_others_does() -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    torch_scheduler = torch.optim.lr_scheduler.StepLR(ours, step_size=1, gamma=0.1)
    paddle_scheduler = paddle.optimizer.lr.StepDecay(0.1, step_size=10, gamma=0.1)  # never steps in 3 iterations
    theirs = paddle.optimizer.Momentum(paddle_scheduler, 0.9, parameters=models[1].parameters())
    reference, port = _facts(ours, theirs, models, schedulers=(torch_scheduler, paddle_scheduler))
    reference["learning_rates"] = _stepped(torch_scheduler, ours)
    port["learning_rates"] = _stepped(paddle_scheduler, theirs)
    (finding,) = lint_training(reference, port)
    assert finding.attribute == "lr_schedule" and "StepDecay is built" in finding.why
    assert "not attached" in finding.why and finding.paddle_value == [0.1, 0.1, 0.1]

    same = paddle.optimizer.lr.StepDecay(0.1, step_size=1, gamma=0.1)
    again = paddle.optimizer.Momentum(same, 0.9, parameters=models[1].parameters())
    port = paddle_facts(again, paddle.nn.CrossEntropyLoss(), same, models[1], 1)
    port["learning_rates"] = _stepped(same, again)
    assert lint_training(reference, port) == []


def test_cross_entropy_class_axis_of_4d_scores() -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    theirs = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters())
    # [B, C, H, W] scores, [B, H, W] labels: torch's classes are on axis 1, Paddle's default is the last.
    (finding,) = lint_training(*_facts(ours, theirs, models, label_ndim=3))
    assert (finding.attribute, finding.fix) == ("axis", "paddle.nn.CrossEntropyLoss(axis=1)")
    on_axis_1 = paddle.nn.CrossEntropyLoss(axis=1)
    assert lint_training(*_facts(ours, theirs, models, paddle_loss=on_axis_1, label_ndim=3)) == []
    assert lint_training(*_facts(ours, theirs, models, label_ndim=1)) == []  # [B, C]: -1 is axis 1


def test_cross_entropy_settings_differ() -> None:
    models = _models()
    ours = torch.optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    theirs = paddle.optimizer.Momentum(0.1, 0.9, parameters=models[1].parameters())
    torch_loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=0, reduction="sum")
    findings = lint_training(*_facts(ours, theirs, models, torch_loss=torch_loss))
    assert _attributes(findings) == ["label_smoothing", "ignore_index", "reduction"]
    soft = paddle.nn.CrossEntropyLoss(soft_label=True)
    (finding,) = lint_training(*_facts(ours, theirs, models, paddle_loss=soft))
    assert finding.fix == "paddle.nn.CrossEntropyLoss(soft_label=False)"
