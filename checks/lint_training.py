"""Optimizer, loss and scheduler lint: the training set-up mismatches that the iterations show only as numbers.

Read from what each side's training objects are set to (``training_sides.describe``: plain values, so a
reference reused from the cache still has them without torch), each rule names the Paddle class or argument
that matches the reference: torch `SGD(momentum=...)` is `paddle.optimizer.Momentum`; torch SGD/Adam add
`weight_decay` to the gradient (L2), AdamW decouples it, as Paddle's `weight_decay` on Momentum/SGD/Adam and
AdamW do; CrossEntropy `label_smoothing`, `ignore_index`, `reduction`, `soft_label`; a scheduler on one side
only, or a Paddle scheduler that is not the optimizer's learning_rate (then it never acts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paddle_port_checks.schema import Finding
from paddle_port_checks.training_sides import CROSS_ENTROPY_SETTINGS

# torch optimizer -> the Paddle class of the same update rule (momentum SGD is Momentum, not SGD).
PADDLE_OPTIMIZER = {"SGD": "Momentum", "Adam": "Adam", "AdamW": "AdamW", "RMSprop": "RMSProp", "Adagrad": "Adagrad"}


def lint_training(torch: dict[str, Any], paddle: dict[str, Any]) -> list[Finding]:
    """Every mismatch between the two sides' optimizer, loss and scheduler."""
    return [*_optimizer(torch, paddle), *_loss(torch, paddle), *_scheduler(torch, paddle)]


def _finding(what: str, torch: dict[str, Any], paddle: dict[str, Any], **fields: Any) -> Finding:
    return Finding(
        torch_layer=what,
        paddle_layer=what,
        torch_type=str(torch.get(what, "")),
        paddle_type=str(paddle.get(what, "")),
        **fields,
    )


def _optimizer(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    momentum = torch.get("momentum") or 0.0
    if torch["optimizer"] == "SGD" and momentum and paddle["optimizer"] != "Momentum":
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="momentum",
            torch_value=momentum,
            paddle_value=paddle.get("momentum"),
            expected_paddle_value=momentum,
            why=f"torch SGD(momentum={momentum}) keeps a velocity; paddle.optimizer.{paddle['optimizer']} has none: "
            "the first update agrees, every later one differs",
            fix=f"paddle.optimizer.Momentum(momentum={momentum})",
        )
    elif momentum and paddle.get("momentum") is not None and abs(paddle["momentum"] - momentum) > 1e-12:
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="momentum",
            torch_value=momentum,
            paddle_value=paddle["momentum"],
            expected_paddle_value=momentum,
            why="the optimizers' momentum differs (an optimizer's momentum has the same meaning in both)",
            fix=f"paddle.optimizer.{paddle['optimizer']}(momentum={momentum})",
        )
    if torch.get("nesterov") and paddle.get("nesterov") is False:
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="use_nesterov",
            torch_value=True,
            paddle_value=False,
            expected_paddle_value=True,
            why="torch uses Nesterov momentum; Paddle's Momentum does only with use_nesterov=True",
            fix="paddle.optimizer.Momentum(use_nesterov=True)",
        )
    yield from _weight_decay(torch, paddle)


def _weight_decay(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    ours, theirs = torch["weight_decay"], paddle["weight_decay"]
    if not ours and not theirs:
        return
    coupling = {True: "decoupled (AdamW)", False: "L2 added to the gradient"}
    if ours and theirs and torch["decoupled"] != paddle["decoupled"]:
        matching = "AdamW" if torch["decoupled"] else PADDLE_OPTIMIZER.get(torch["optimizer"], torch["optimizer"])
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="weight_decay",
            torch_value=f"{ours} {coupling[torch['decoupled']]}",
            paddle_value=f"{theirs} {coupling[paddle['decoupled']]}",
            expected_paddle_value=f"{ours} {coupling[torch['decoupled']]}",
            why=f"torch {torch['optimizer']}'s weight_decay is {coupling[torch['decoupled']]}, "
            f"paddle {paddle['optimizer']}'s is {coupling[paddle['decoupled']]}: the updates differ",
            fix=f"paddle.optimizer.{matching}(weight_decay={ours})",
        )
    elif abs(ours - theirs) > 1e-12 * max(abs(ours), 1.0):
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="weight_decay",
            torch_value=ours,
            paddle_value=theirs,
            expected_paddle_value=ours,
            why="the weight decay differs: every update after the first gradient differs",
            fix=f"paddle.optimizer.{paddle['optimizer']}(weight_decay={ours})",
        )


def _loss(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    ours, theirs = torch["loss_settings"], paddle["loss_settings"]
    if not ours or not theirs:
        return  # not two CrossEntropyLosses: the loss step's numbers speak for them
    for name in CROSS_ENTROPY_SETTINGS:
        if ours[name] != theirs[name]:
            yield _finding(
                "loss",
                torch,
                paddle,
                attribute=name,
                torch_value=ours[name],
                paddle_value=theirs[name],
                expected_paddle_value=ours[name],
                why=f"CrossEntropyLoss {name} differs: the loss and every gradient differ",
                fix=f"paddle.nn.CrossEntropyLoss({name}={ours[name]!r})",
            )
    if theirs.get("soft_label"):
        yield _finding(
            "loss",
            torch,
            paddle,
            attribute="soft_label",
            torch_value=False,
            paddle_value=True,
            expected_paddle_value=False,
            why="soft_label=True reads the labels as class probabilities; torch's class-index labels need False",
            fix="paddle.nn.CrossEntropyLoss(soft_label=False)",
        )


def _scheduler(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    ours, theirs = torch["scheduler"], paddle["scheduler"]
    if ours and not theirs:
        why = f"the reference steps a {ours}; the Paddle learning rate is a constant, so they part at the first change"
    elif theirs and not ours:
        why = f"Paddle steps a {theirs}; the reference's learning rate is a constant"
    elif theirs and not paddle.get("scheduler_attached", True):
        why = (
            f"the Paddle {theirs} is not the optimizer's learning_rate: it is stepped but never acts "
            "(a Paddle scheduler must be passed as learning_rate)"
        )
    else:
        return
    yield _finding(
        "scheduler",
        torch,
        paddle,
        attribute="learning_rate",
        torch_value=ours or "constant",
        paddle_value=theirs or "constant",
        expected_paddle_value=ours or "constant",
        why=why,
        fix="paddle.optimizer.<Optimizer>(learning_rate=<the scheduler>), stepped after each optimizer step"
        if ours
        else "a constant learning rate, as the reference's",
    )
