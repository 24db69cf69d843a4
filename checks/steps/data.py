"""Checkpoint 2: the small data set through both pipelines: length and the first N batches, no shuffle."""

from __future__ import annotations

from typing import Any

import numpy as np

from paddle_port_checks.factories import call_factory
from paddle_port_checks.golden import sample_digests
from paddle_port_checks.outputs import named_arrays
from paddle_port_checks.session import CheckContext, Outcome


def reference_dataset(context: CheckContext, samples: list[tuple[str, int]]) -> Any:
    side = context.config.reference
    if not side.dataset:
        raise_missing(context, "reference.dataset")
    return call_factory(side.dataset, "reference.dataset", samples, **side.dataset_kwargs)


def paddle_dataset(context: CheckContext, samples: list[tuple[str, int]]) -> Any:
    side = context.config.paddle
    if not side.dataset:
        raise_missing(context, "paddle.dataset")
    return call_factory(side.dataset, "paddle.dataset", samples, **side.dataset_kwargs)


def raise_missing(context: CheckContext, key: str) -> None:
    from paddle_port_checks.config import ConfigError

    raise ConfigError(
        context.config.path,
        key,
        'is required for this step: a "module:callable" that takes '
        "(samples, **dataset_kwargs) and returns a map-style dataset of (image, label)",
    )


def reference_batches(context: CheckContext) -> Any:
    """The reference DataLoader over the lite set: no shuffle, no workers, fixed batch size."""
    torch = context.torch()
    dataset = reference_dataset(context, context.samples())
    return dataset, torch.utils.data.DataLoader(
        dataset, batch_size=context.config.batch_size, shuffle=False, num_workers=0
    )


def paddle_batches(context: CheckContext) -> Any:
    paddle = context.paddle()
    dataset = paddle_dataset(context, context.samples())
    return dataset, paddle.io.DataLoader(
        dataset, batch_size=context.config.batch_size, shuffle=False, num_workers=0, drop_last=False
    )


def _first_batches(dataset: Any, loader: Any, count: int) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"length": np.array(len(dataset))}
    for index, (images, labels) in enumerate(loader):
        if index >= count:
            break
        # A batch of one tensor, or of a dict by input name (text models), or a tuple: every part compared.
        arrays.update(named_arrays({f"dataloader_{index}": images}))
        # Paddle collates int labels to shape [B] or [B, 1] depending on the dataset; the label values matter.
        arrays[f"label_{index}"] = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels).reshape(-1)
    return arrays


def run(context: CheckContext) -> Outcome:
    cfg = context.config

    def reference() -> dict[str, np.ndarray]:
        dataset, loader = reference_batches(context)
        return _first_batches(dataset, loader, cfg.num_batches)

    ref = context.reference_arrays(reference, sample_digests(context.samples()), cfg.batch_size, cfg.num_batches)
    dataset, loader = paddle_batches(context)
    paddle = _first_batches(dataset, loader, cfg.num_batches)
    return Outcome(ref=ref, paddle=paddle)
