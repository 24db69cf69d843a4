"""Checkpoint 3: the evaluation metric on the small val set, each side with its own framework's code."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from paddle_port_checks import degenerate, golden
from paddle_port_checks.config import Side
from paddle_port_checks.factories import load_callable
from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.metric_values import MetricError, metric_values
from paddle_port_checks.outputs import primary
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.steps.data import data_identity, iterate_batches, paddle_batches, reference_batches

TOP_K = (1, 5)


def torch_topk_accuracy(logits: Any, labels: Any) -> dict[str, float]:
    """Top-1/top-5 accuracy of a batch, computed with torch (k capped at the number of classes)."""
    result = {}
    for k in TOP_K:
        top = logits.topk(min(k, logits.shape[-1]), dim=-1).indices
        result[f"acc_top{k}"] = float((top == labels.reshape(-1, 1)).any(dim=-1).float().mean())
    return result


def paddle_topk_accuracy(logits: Any, labels: Any) -> dict[str, float]:
    """Top-1/top-5 accuracy of a batch with paddle.metric.accuracy, as PaddleClas computes it."""
    import paddle

    labels = labels.reshape([-1, 1]).astype("int64")
    return {f"acc_top{k}": float(paddle.metric.accuracy(logits, labels, k=min(k, logits.shape[-1]))) for k in TOP_K}


MetricFn = Callable[..., Any]


def side_metric(side: Side, key: str, default: MetricFn) -> MetricFn:
    """The porter's metric, `callable(outputs, labels, **metric_kwargs)` on all the model's outputs as it
    returns them, or the default top-k accuracy on the logits."""
    if not side.metric:
        return lambda outputs, labels: default(_classifier_logits(outputs, key), labels)
    metric = load_callable(side.metric, f"{key}.metric")
    return lambda outputs, labels: metric(outputs, labels, **side.metric_kwargs)


def _classifier_logits(outputs: Any, key: str) -> Any:
    logits = primary(outputs)
    if len(getattr(logits, "shape", ())) != 2:
        raise MetricError(
            f"[{key}.metric] the default metric is top-k accuracy of [batch, classes] logits, but this model's "
            f"first output has shape {list(getattr(logits, 'shape', []))}: name your own metric, "
            "callable(outputs, labels, **metric_kwargs)"
        )
    return logits


def evaluate(
    model: Any, batches: Iterable[Any], metric: MetricFn, no_grad: Any, to_device: Any, side: Side, key: str
) -> dict[str, np.ndarray]:
    """Sample-weighted mean of the per-batch metric over all the batches."""
    totals: dict[str, float] = {}
    count = 0
    with no_grad():
        for inputs, labels in batches:
            batch = int(labels.shape[0])
            outputs = call_model(model, converted(inputs, to_device))
            for name, value in metric_values(metric(outputs, to_device(labels)), side.metric_keys, key).items():
                totals[name] = totals.get(name, 0.0) + value * batch
            count += batch
    if count == 0:
        raise MetricError(f"[{key}] the data pipeline yielded no batches: nothing to evaluate")
    return {name: np.array(total / count) for name, total in totals.items()}


def reference_metrics(context: CheckContext) -> dict[str, np.ndarray]:
    torch = context.torch()
    model = context.reference_model()
    batches = iterate_batches(context, "reference", *reference_batches(context))
    side = context.config.reference
    metric = side_metric(side, "reference", torch_topk_accuracy)
    to_device = lambda t: t.to(context.reference_device.torch)  # noqa: E731
    return evaluate(model, batches, metric, torch.no_grad, to_device, side, "reference")


# Evaluations done in this process, by what they depend on: the metric step and the weights step evaluate
# the same weights on the same data when they run in one worker, and the answer is the same by construction.
_EVALUATED: dict[str, dict[str, np.ndarray]] = {}


def paddle_metrics(context: CheckContext, model: Any = None) -> dict[str, np.ndarray]:
    paddle = context.paddle()
    model = model if model is not None else context.paddle_model()
    side, root = context.config.paddle, context.config.root
    key = golden.fingerprint(
        [
            _weights_digest(model),
            data_identity(context, "paddle"),
            context.config.batch_size,
            side.dataset,
            side.dataset_kwargs,
            side.metric,
            side.metric_kwargs,
            side.metric_keys,
            [golden.module_digest(spec, root) for spec in (side.dataset, side.metric)],
            str(context.device),
        ]
    )
    if key not in _EVALUATED:
        batches = iterate_batches(context, "paddle", *paddle_batches(context))
        metric = side_metric(side, "paddle", paddle_topk_accuracy)
        _EVALUATED[key] = evaluate(model, batches, metric, paddle.no_grad, lambda t: t, side, "paddle")
    return dict(_EVALUATED[key])


def _weights_digest(model: Any) -> str:
    """Every parameter and buffer of a Paddle model, by value."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        array = np.ascontiguousarray(tensor.numpy())
        digest.update(f"{name}{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def run(context: CheckContext) -> Outcome:
    ref = context.reference_arrays(
        lambda: reference_metrics(context), data_identity(context), context.config.batch_size
    )
    ours = paddle_metrics(context)
    for warning in degenerate.metric_warnings(ref, ours):
        context.warn(warning)
    return Outcome(ref=ref, paddle=ours)
