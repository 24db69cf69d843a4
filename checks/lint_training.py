"""Optimizer, loss and scheduler lint: the training set-up mismatches that the iterations show only as numbers.

Read from what each side's training objects are set to (``training_facts.py``: plain values, so a
reference reused from the cache still has them without torch), each rule names the Paddle class or argument
that matches the reference: torch `SGD(momentum=...)` is `paddle.optimizer.Momentum`; torch SGD/Adam add
`weight_decay` to the gradient (L2), AdamW decouples it, as Paddle's `weight_decay` on Momentum/SGD/Adam and
AdamW do, while Paddle's `L1Decay` is another penalty altogether; which parameters are decayed (torch groups
with weight_decay=0, Paddle AdamW's `apply_decay_param_fun`); Adam's `betas`/`eps` (Paddle `beta1`, `beta2`,
`epsilon`) and RMSprop's `alpha`/`eps` (Paddle `rho`, `epsilon`, whose defaults differ); a Paddle `grad_clip`
the reference loop does not have; CrossEntropy `label_smoothing`, `ignore_index`, `reduction`, `soft_label`,
`axis`; a scheduler on one side only, a warm-up on one side only, a Paddle scheduler that is not the
optimizer's learning_rate, and a schedule that never changes the learning rate while the other's does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paddle_port_checks.schema import Finding
from paddle_port_checks.training_facts import CROSS_ENTROPY_SETTINGS

# torch optimizer -> the Paddle class of the same update rule (momentum SGD is Momentum, not SGD).
PADDLE_OPTIMIZER = {"SGD": "Momentum", "Adam": "Adam", "AdamW": "AdamW", "RMSprop": "RMSProp", "Adagrad": "Adagrad"}


def lint_training(torch: dict[str, Any], paddle: dict[str, Any]) -> list[Finding]:
    """Every mismatch between the two sides' optimizer, loss and scheduler."""
    return [
        *_optimizer(torch, paddle),
        *_moments(torch, paddle),
        *_grad_clip(paddle),
        *_loss(torch, paddle),
        *_scheduler(torch, paddle),
        *_warmup(torch, paddle),
        *_schedule_moves(torch, paddle),
    ]


def _differs(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) > 1e-12 * max(abs(ours), 1e-300)


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
    if ours and paddle.get("l1_decay"):
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute="weight_decay",
            torch_value=f"{ours} (L2)",
            paddle_value=f"L1Decay({theirs})",
            expected_paddle_value=f"L2Decay({ours})",
            why="torch's weight_decay is an L2 penalty (w added to the gradient); paddle.regularizer.L1Decay adds "
            "sign(w): another penalty altogether",
            fix=f"paddle.optimizer.{paddle['optimizer']}(weight_decay=paddle.regularizer.L2Decay({ours}))",
        )
    yield from _decay_scope(torch, paddle)


def _decay_scope(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    """Torch code keeps bias and norm parameters out of the decay with a group of weight_decay=0; Paddle's AdamW
    does it with `apply_decay_param_fun`, the others with a parameter group of their own: compared by count, as
    the two sides' parameter names differ."""
    ours, theirs, total = torch.get("decayed"), paddle.get("decayed"), torch.get("parameters")
    if ours is None or theirs is None or ours == theirs or not (torch["weight_decay"] and paddle["weight_decay"]):
        return
    if paddle["optimizer"] == "AdamW":
        fix = "paddle.optimizer.AdamW(apply_decay_param_fun=lambda name: name in <the names of the decayed>)"
    else:
        fix = "parameters=[{'params': <decayed>}, {'params': <the rest>, 'weight_decay': 0.0}]"
    yield _finding(
        "optimizer",
        torch,
        paddle,
        attribute="apply_decay_param_fun",
        torch_value=f"{ours} of {total} parameters decayed",
        paddle_value=f"{theirs} of {paddle.get('parameters')} parameters decayed",
        expected_paddle_value=f"{ours} decayed",
        why="the reference decays only some parameters (parameter groups with weight_decay=0, as for biases and "
        "norms); the Paddle optimizer decays a different set, so those parameters' updates differ",
        fix=fix,
    )


# Each moment setting: the facts' key, torch's name for it, Paddle's, and its position in `betas` (or None).
_MOMENTS = (("betas", "betas[0]", "beta1", 0), ("betas", "betas[1]", "beta2", 1), ("epsilon", "eps", "epsilon", None))


def _moments(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    """Adam's `betas=(b1, b2)` and `eps` are Paddle's `beta1`, `beta2` and `epsilon` (same defaults: 0.9, 0.999,
    1e-8); RMSprop's `alpha` and `eps` are Paddle RMSProp's `rho` and `epsilon`, whose defaults differ (torch
    0.99 and 1e-8, Paddle 0.95 and 1e-6): a port that leaves them out changes every update."""
    settings = [*_MOMENTS, ("rho", "alpha", "rho", None)]
    name = paddle["optimizer"]
    for key, torch_name, paddle_name, index in settings:
        ours, theirs = torch.get(key), paddle.get(key)
        if ours is None or theirs is None:
            continue
        if index is not None:
            ours, theirs = ours[index], theirs[index]
        if not _differs(ours, theirs):
            continue
        defaults = " (the frameworks' RMSprop defaults differ)" if name == "RMSProp" else ""
        yield _finding(
            "optimizer",
            torch,
            paddle,
            attribute=paddle_name,
            torch_value=ours,
            paddle_value=theirs,
            expected_paddle_value=ours,
            why=f"torch {torch['optimizer']}'s {torch_name} is Paddle's {paddle_name}: {ours:g} vs {theirs:g}"
            f"{defaults}; every update differs",
            fix=f"paddle.optimizer.{name}({paddle_name}={ours!r})",
        )


# Paddle's clipping classes and the torch call each one is.
_CLIPS = {
    "ClipGradByGlobalNorm": "torch.nn.utils.clip_grad_norm_(parameters, max_norm={})",
    "ClipGradByNorm": "a per-tensor norm clip (torch.nn.utils.clip_grad_norm_ on each parameter, max_norm={})",
    "ClipGradByValue": "torch.nn.utils.clip_grad_value_(parameters, clip_value={})",
}


def _grad_clip(paddle: dict[str, Any]) -> Iterator[Finding]:
    """Torch clips with a call in the loop (`clip_grad_norm_`), which the check's reference loop does not make;
    Paddle clips in the optimizer (`grad_clip=`): present on the Paddle side only, the updates part as soon as
    a gradient is over the bound. A warning: the porter's own torch training may well make that call."""
    clip = paddle.get("grad_clip")
    if not clip:
        return
    bound = paddle.get("grad_clip_norm")
    call = _CLIPS.get(clip, "a gradient clip").format(bound)
    yield Finding(
        torch_layer="optimizer",
        paddle_layer="optimizer",
        torch_type="(clip_grad_norm_ is a call in torch's loop)",
        paddle_type=str(paddle["optimizer"]),
        attribute="grad_clip",
        torch_value="none",
        paddle_value=f"{clip}({bound})",
        expected_paddle_value="none (as the check's reference loop)",
        why=f"Paddle clips the gradients in its optimizer ({clip}) and the check's reference loop calls no {call}: "
        "once a gradient is over the bound the updates differ. Where the reference's training does call it, "
        "Paddle's match is grad_clip=paddle.nn.ClipGradByGlobalNorm(clip_norm=max_norm)",
        severity="warning",
        fix="optimizer_kwargs without grad_clip for this check",
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
    ndim, axis = paddle.get("logits_ndim"), theirs.get("axis")
    if isinstance(ndim, int) and ndim > 2 and isinstance(axis, int) and axis % ndim != 1:
        yield _finding(
            "loss",
            torch,
            paddle,
            attribute="axis",
            torch_value=1,
            paddle_value=axis,
            expected_paddle_value=1,
            why=f"torch's CrossEntropyLoss reads the classes on axis 1 of its {ndim}-d scores; Paddle's on `axis` "
            f"(default -1, the last): axis {axis} is not the class axis",
            fix="paddle.nn.CrossEntropyLoss(axis=1)",
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


def _warmup(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    """A warm-up on one side only, both sides scheduled (a scheduler on one side only is said above)."""
    ours, theirs = torch.get("warmup"), paddle.get("warmup")
    if not (torch["scheduler"] and paddle["scheduler"]) or ours is None or theirs is None or ours == theirs:
        return
    yield _finding(
        "scheduler",
        torch,
        paddle,
        attribute="warmup",
        torch_value=f"{torch['scheduler']} ({'warm-up' if ours else 'no warm-up'})",
        paddle_value=f"{paddle['scheduler']} ({'warm-up' if theirs else 'no warm-up'})",
        expected_paddle_value="warm-up" if ours else "no warm-up",
        why="the reference's schedule starts with a rising learning rate and the Paddle one does not"
        if ours
        else "the Paddle schedule starts with a warm-up the reference's does not have",
        fix="paddle.optimizer.lr.LinearWarmup(learning_rate=<the decay scheduler>, warmup_steps=..., start_lr=..., "
        "end_lr=...) as the optimizer's learning_rate"
        if ours
        else "the Paddle scheduler without LinearWarmup, as the reference's",
    )


def _schedule_moves(torch: dict[str, Any], paddle: dict[str, Any]) -> Iterator[Finding]:
    """A scheduler that is built but never moves the learning rate (its `lr_i` constant) while the other side's
    does: not attached to its optimizer, not stepped, or its step size/milestones differ. From the iterations'
    `learning_rates`; a Paddle scheduler known not to be the learning_rate is said by `_scheduler` already."""
    ours, theirs = torch.get("learning_rates") or [], paddle.get("learning_rates") or []
    if len(ours) < 2 or len(theirs) < 2:
        return

    def moves(rates: list[float]) -> bool:
        return any(_differs(rates[0], rate) for rate in rates[1:])

    if moves(ours) == moves(theirs):
        return
    still, side = (paddle, "Paddle") if moves(ours) else (torch, "reference")
    if not still["scheduler"] or not still.get("scheduler_attached", True):
        return
    rates = theirs if still is paddle else ours
    yield _finding(
        "scheduler",
        torch,
        paddle,
        attribute="lr_schedule",
        torch_value=ours,
        paddle_value=theirs,
        expected_paddle_value=ours,
        why=f"the {side} {still['scheduler']} is built but its learning rate stays {rates[0]:g} over {len(rates)} "
        "iterations while the other side's changes: it is not attached to the optimizer, not stepped, or its step "
        "size or milestones differ",
        fix="paddle.optimizer.<Optimizer>(learning_rate=<the scheduler>) and scheduler.step() after each "
        "optimizer step, with the reference's step size",
    )
