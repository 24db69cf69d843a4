"""Checkpoint 1: the same fixed input through both models, same weights, eval mode; compare the outputs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from paddle_port_checks.session import CheckContext, Outcome

# A forward hook of the generated script: (model, input tensor) -> {key: output tensor}.
OutputsFn = Callable[[Any, Any], dict[str, Any]]


def default_outputs(model: Any, x: Any) -> dict[str, Any]:
    """Most classifiers return the logits; edit the script's copy when yours returns a tuple or a dict."""
    return {"logits": model(x)}


def fixed_input(context: CheckContext) -> np.ndarray:
    """The input both sides see, kept in a file so the porter can replace it with a real image tensor."""
    cfg = context.config
    path = cfg.resolve(cfg.input_file)
    if path.is_file():
        array = np.load(path)
        if tuple(array.shape) == cfg.input_shape:
            return array.astype(cfg.input_dtype, copy=False)
        context.warn(
            f"{path} has shape {tuple(array.shape)}, config [input] shape is {list(cfg.input_shape)}: regenerated it"
        )
    rng = np.random.default_rng(cfg.seed)
    array = rng.standard_normal(cfg.input_shape).astype(cfg.input_dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return array


def run(
    context: CheckContext, reference_outputs: OutputsFn = default_outputs, paddle_outputs: OutputsFn = default_outputs
) -> Outcome:
    x = fixed_input(context)

    def reference() -> dict[str, np.ndarray]:
        torch = context.torch()
        model = context.reference_model()
        with torch.no_grad():
            outputs = reference_outputs(model, torch.from_numpy(x).to(context.reference_device.torch))
        return {key: value.detach().cpu().numpy() for key, value in outputs.items()}

    ref = context.reference_arrays(reference, golden_input(x))
    paddle = context.paddle()
    model = context.paddle_model()
    with paddle.no_grad():
        outputs = paddle_outputs(model, paddle.to_tensor(x))
    return Outcome(ref=ref, paddle={key: value.numpy() for key, value in outputs.items()})


def golden_input(x: np.ndarray) -> str:
    """The input's identity for the reference fingerprint."""
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() + str(x.shape) + str(x.dtype)
