"""What each side's training objects are set to, as plain values the lint compares (``lint_training.py``).

Read from the built optimizer, loss and scheduler rather than from the config, so a porter's own factory is
seen as it really is; plain values (JSON), so a reference reused from the cache still has them without torch.
Each framework names the same setting its own way (torch `betas`/`eps`/`alpha`, Paddle `beta1`/`beta2`/
`epsilon`/`rho`): both are read into the same keys here, and the lint names the Paddle spelling in its fix.
"""

from __future__ import annotations

from typing import Any

from paddle_port_checks.layer_kinds import class_stem

# The loss settings read on both sides when both losses are a CrossEntropyLoss (the lint compares them).
CROSS_ENTROPY_SETTINGS = ("label_smoothing", "ignore_index", "reduction")


def loss_settings(loss: Any) -> dict[str, Any]:
    if class_stem(loss) != "crossentropyloss":
        return {}
    return {name: getattr(loss, name, None) for name in (*CROSS_ENTROPY_SETTINGS, "soft_label", "axis")}


def _number(value: Any) -> float | None:
    """A setting as a float: Paddle may hold a beta as a 0-d Tensor."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def warms_up(scheduler: Any) -> bool:
    """Whether the schedule starts with a rising learning rate (a warm-up), either framework's classes: Paddle
    `LinearWarmup`, torch `LinearLR` from a lower factor, a `SequentialLR`/`ChainedScheduler` that starts with
    one, or a `LambdaLR`/`LambdaDecay` whose factor rises from step 0 to 1 (its lambda is evaluated here)."""
    if scheduler is None:
        return False
    name = type(scheduler).__name__
    if name == "LinearWarmup":
        return True
    if name == "LinearLR":
        return bool(scheduler.start_factor < scheduler.end_factor)
    if name in ("SequentialLR", "ChainedScheduler"):
        inner = getattr(scheduler, "_schedulers", [])
        return bool(inner) and warms_up(inner[0])
    if name in ("LambdaLR", "LambdaDecay"):
        factor = (getattr(scheduler, "lr_lambdas", None) or [getattr(scheduler, "lr_lambda", None)])[0]
        try:
            return bool(factor(0) < factor(1))
        except Exception:  # a lambda of the porter's that needs more than a step number: cannot tell
            return False
    return False


def _scheduler_facts(scheduler: Any) -> dict[str, Any]:
    return {"scheduler": type(scheduler).__name__ if scheduler is not None else "", "warmup": warms_up(scheduler)}


def torch_facts(optimizer: Any, loss: Any, scheduler: Any) -> dict[str, Any]:
    """The reference's optimizer class and settings, its loss's, its scheduler's class and warm-up."""
    defaults = optimizer.defaults
    betas = defaults.get("betas")
    groups = optimizer.param_groups
    trainable = [len([p for p in group["params"] if p.requires_grad]) for group in groups]
    return {
        "optimizer": type(optimizer).__name__,
        "momentum": defaults.get("momentum"),
        "nesterov": defaults.get("nesterov"),
        "weight_decay": float(defaults.get("weight_decay") or 0.0),
        "decoupled": type(optimizer).__name__ == "AdamW" or bool(defaults.get("decoupled_weight_decay")),
        "l1_decay": False,  # torch's weight_decay is always L2 (or decoupled)
        "betas": [float(beta) for beta in betas] if betas is not None else None,
        "epsilon": _number(defaults.get("eps")),
        "rho": _number(defaults.get("alpha")),  # RMSprop's smoothing constant; Paddle calls it rho
        # Parameter groups with weight_decay=0 (bias, norm) are how torch code excludes parameters from decay.
        "parameters": sum(trainable),
        "decayed": sum(n for n, group in zip(trainable, groups, strict=True) if group.get("weight_decay")),
        "grad_clip": "",  # torch clips with a call (clip_grad_norm_) in the loop, never in the optimizer
        "grad_clip_norm": None,
        "loss": type(loss).__name__,
        "loss_settings": loss_settings(loss),
        **_scheduler_facts(scheduler),
    }


def _paddle_decayed(optimizer: Any, trainable: list[Any], weight_decay: float) -> int | None:
    """How many trainable parameters Paddle decays: AdamW's `apply_decay_param_fun` picks them by name; parameter
    groups of their own (dicts) are not read (None: unknown); otherwise every one, or none without decay."""
    if not weight_decay:
        return 0
    if any(isinstance(group, dict) for group in getattr(optimizer, "_param_groups", None) or []):
        return None
    chooses = getattr(optimizer, "_apply_decay_param_fun", None)
    if chooses is None:
        return len(trainable)
    return sum(1 for parameter in trainable if chooses(parameter.name))


def paddle_facts(optimizer: Any, loss: Any, scheduler: Any, model: Any, label_ndim: int) -> dict[str, Any]:
    """The Paddle side's, in the reference's keys; `label_ndim` gives the logits' rank (one more, class ids)."""
    decoupled = type(optimizer).__name__ == "AdamW"
    regularizer = getattr(optimizer, "regularization", None)
    if decoupled:
        weight_decay = getattr(optimizer, "_weight_decay", 0.0)
    else:  # Momentum keeps an L2 coefficient of its own; the other optimizers a regularizer (L2Decay) or None
        weight_decay = getattr(optimizer, "_regularization_coeff", None) or getattr(regularizer, "_coeff", 0.0)
    weight_decay = float(_number(weight_decay) or 0.0)
    trainable = [p for p in model.parameters() if not p.stop_gradient]
    clip = getattr(optimizer, "_grad_clip", None)
    beta1, beta2 = _number(getattr(optimizer, "_beta1", None)), _number(getattr(optimizer, "_beta2", None))
    return {
        "optimizer": type(optimizer).__name__,
        "momentum": getattr(optimizer, "_momentum", None),
        "nesterov": getattr(optimizer, "_use_nesterov", None),
        "weight_decay": weight_decay,
        "decoupled": decoupled,
        "l1_decay": type(regularizer).__name__ == "L1Decay",
        "betas": [beta1, beta2] if beta1 is not None and beta2 is not None else None,
        "epsilon": _number(getattr(optimizer, "_epsilon", None)),
        "rho": _number(getattr(optimizer, "_rho", None)),
        "parameters": len(trainable),
        "decayed": _paddle_decayed(optimizer, trainable, weight_decay),
        "grad_clip": type(clip).__name__ if clip is not None else "",
        "grad_clip_norm": _number(getattr(clip, "clip_norm", None) or getattr(clip, "max", None)),
        "loss": type(loss).__name__,
        "loss_settings": loss_settings(loss),
        "logits_ndim": label_ndim + 1,
        **_scheduler_facts(scheduler),
        "scheduler_attached": scheduler is None or getattr(optimizer, "_learning_rate", None) is scheduler,
    }
