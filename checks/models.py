"""Building the two models of a step with the same weights: the reference from its factory and checkpoint,
the Paddle twin from its own checkpoint or from the reference weights converted through the mapping.

Every failure here is the porter's set-up (a checkpoint that does not fit, a mapping that is out of date),
so each is raised as an error that names the config key or the tensors, never as a bare traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.config import ConfigError
from paddle_port_checks.device import Device, DeviceError
from paddle_port_checks.factories import call_factory
from paddle_port_checks.inputs import check_signature

if TYPE_CHECKING:
    from paddle_port_checks.context import CheckContext
    from paddle_port_checks.mapping import Mapping


class WeightsError(RuntimeError):
    """The Paddle model could not be given the reference weights: a set-up error, not a numeric failure."""


def reference_model(context: CheckContext, device: Device | None = None) -> Any:
    """The PyTorch model: seeded init, the configured checkpoint if any, eval mode, on its device
    (or on `device`: layer-by-layer work runs both models side by side on the Paddle side's device)."""
    torch = context.torch()
    target = device or context.reference_device
    if target.is_gpu and not torch.cuda.is_available():
        raise DeviceError(
            f"the reference runs on {target} but this torch ({torch.__version__}) sees no CUDA GPU: "
            "pick another device, or see `paddle-port doctor`"
        )
    config, side = context.config, context.config.reference
    torch.manual_seed(config.seed)
    model = call_factory(side.model, "reference.model", **side.kwargs)
    check_signature(model, context.inputs(), config, "reference")
    if side.checkpoint:
        from paddle_port_checks.convert import load_torch_checkpoint
        from paddle_port_checks.safe_load import refuse_misshapen, warn_once

        path = context.existing(side.checkpoint, "reference.checkpoint")
        state = load_torch_checkpoint(path, warn_once(context))
        # load_state_dict raises on a misshapen tensor with a multi-line traceback: name it in one line first.
        refuse_misshapen(path, state, model.state_dict(), "the reference model")
        missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
        if missing or unexpected:
            raise ConfigError(
                config.path,
                "reference.checkpoint",
                f"does not fit the reference model: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}",
            )
    return model.to(target.torch).eval()


def reference_state(context: CheckContext) -> dict[str, np.ndarray]:
    """The reference weights as numpy arrays, cached so the Paddle side can get them without torch."""

    def compute() -> dict[str, np.ndarray]:
        from paddle_port_checks.convert import torch_state_to_numpy

        return torch_state_to_numpy(reference_model(context).state_dict())

    arrays, _ = context.cache.get_or_compute(
        "reference_state", context.weights_fingerprint(), compute, fresh=context.fresh
    )
    return arrays


# The Paddle twin built in this process, by what it is built from: the steps that only evaluate it (forward,
# metric, predict) share one in a run's worker, so a large model is built and given its weights once. One is
# kept, so memory stays that of one model; a step that changes a model (the weights step) builds its own.
_BUILT: dict[str, Any] = {}


def paddle_model(context: CheckContext) -> Any:
    """The Paddle twin with the same weights, in eval mode: its own .pdparams if configured, else converted."""
    key = _paddle_model_key(context)
    model = _BUILT.get(key)
    if model is None:
        _BUILT.clear()
        model = _BUILT[key] = _build_paddle_model(context)
    model.eval()
    return model


def own_paddle_model(context: CheckContext) -> Any:
    """A Paddle twin with the same weights that no other step shares: for a step that changes it (training)."""
    return _build_paddle_model(context)


def _paddle_model_key(context: CheckContext) -> str:
    config, side = context.config, context.config.paddle
    weights = (
        golden.file_digest(config.resolve(side.checkpoint))
        if side.checkpoint
        else [context.weights_fingerprint(), golden.file_digest(config.resolve(config.weights_mapping))]
    )
    code = golden.module_digest(side.model, config.root)
    return golden.fingerprint([side.model, side.kwargs, code, weights, str(context.device), golden.library_digest()])


def _build_paddle_model(context: CheckContext) -> Any:
    from paddle_port_checks.convert import convert_state_dict, load_into_paddle

    context.paddle()
    config, side = context.config, context.config.paddle
    model = call_factory(side.model, "paddle.model", **side.kwargs)
    check_signature(model, context.inputs(), config, "paddle")
    if side.checkpoint:
        from paddle_port_checks.safe_load import load_paddle_state, refuse_misshapen, warn_once

        checkpoint = context.existing(side.checkpoint, "paddle.checkpoint")
        state = load_paddle_state(checkpoint, warn_once(context))  # never paddle.load: that unpickles as it is
        model_state = model.state_dict()
        refuse_misshapen(checkpoint, state, model_state, "the Paddle model")
        # As for the reference checkpoint: one line naming the key and the tensors, not the load report.
        missing = [name for name in model_state if name not in state]
        unexpected = [name for name in state if name not in model_state]
        if missing or unexpected:
            raise ConfigError(
                config.path,
                "paddle.checkpoint",
                f"does not fit the Paddle model: missing {missing[:5]}, unexpected {unexpected[:5]}",
            )
    else:
        mapping = porter_mapping(context)
        state, report = convert_state_dict(reference_state(context), model, mapping)
        if not report.ok:
            advice = (
                f"{config.weights_mapping} does not fit the two models any more: edit it, or delete it "
                "and run the weights step to rebuild it"
                if mapping is not None
                else f"run the weights step: it maps by structure and writes {config.weights_mapping} "
                "for you to review and edit"
            )
            raise WeightsError(
                f"the reference weights do not convert completely to {side.model}:\n"
                f"{first_lines(report.summary(), 12)}\n{advice}"
            )
    load_report = load_into_paddle(model, state)
    if not load_report.ok:
        raise WeightsError(f"the Paddle model did not take every weight:\n{first_lines(load_report.summary(), 12)}")
    model.eval()
    return model


def porter_mapping(context: CheckContext) -> Mapping | None:
    """The porter's mapping file when present; None means map by name, then by structure."""
    from paddle_port_checks.mapping import load_mapping

    path = context.config.resolve(context.config.weights_mapping)
    return load_mapping(path) if path.is_file() else None


def first_lines(text: str, count: int) -> str:
    """A long report cut to its head, saying how much was left out (the result JSON has it all)."""
    lines = text.splitlines()
    if len(lines) <= count:
        return text
    return "\n".join([*lines[:count], f"  ... and {len(lines) - count} more lines"])
