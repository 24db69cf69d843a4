"""Checkpoint 2: the small data set through both pipelines: length and the first N batches, no shuffle."""

from __future__ import annotations

from typing import Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.config import ConfigError
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
    """The reference (dataset, DataLoader): no shuffle, no workers. The porter's own loader builder when
    configured, else the dataset factory over the small set, batched here."""
    torch = context.torch()
    side = context.config.reference
    if side.loader:
        return own_loader(context, "reference", torch.utils.data.DataLoader)
    dataset = reference_dataset(context, context.samples())
    return dataset, torch.utils.data.DataLoader(
        dataset, batch_size=context.config.batch_size, shuffle=False, num_workers=0
    )


def paddle_batches(context: CheckContext) -> Any:
    paddle = context.paddle()
    side = context.config.paddle
    if side.loader:
        return own_loader(context, "paddle", paddle.io.DataLoader)
    dataset = paddle_dataset(context, context.samples())
    return dataset, paddle.io.DataLoader(
        dataset, batch_size=context.config.batch_size, shuffle=False, num_workers=0, drop_last=False
    )


def own_dataset(context: CheckContext, side_name: str, loader_class: Any) -> tuple[Any, Any]:
    """The porter's builder called as it is (no arguments, or loader_kwargs): its dataset, and its loader
    when it returned one. It may return a DataLoader, a Dataset, or a tuple holding them (`(dataset,
    loader)`, as the tutorial ports' builders do)."""
    side = context.config.reference if side_name == "reference" else context.config.paddle
    built = call_factory(side.loader, f"{side_name}.loader", **side.loader_kwargs)
    parts = list(built) if isinstance(built, (tuple, list)) else [built]
    loader = next((part for part in parts if isinstance(part, loader_class)), None)
    dataset = getattr(loader, "dataset", None) or next(
        (part for part in parts if hasattr(part, "__getitem__") and hasattr(part, "__len__")), None
    )
    if dataset is None:
        raise ConfigError(
            context.config.path,
            f"{side_name}.loader",
            f"returned {type(built).__name__}: expected a DataLoader, a Dataset, or a tuple holding them",
        )
    return dataset, loader


def own_loader(context: CheckContext, side_name: str, loader_class: Any) -> tuple[Any, Any]:
    """The porter's (dataset, loader). A loader that shuffles or uses worker processes is rebuilt over its
    own dataset without them, and the run says so; a bare dataset is batched here."""
    dataset, loader = own_dataset(context, side_name, loader_class)
    batch_size = _batch_size(loader) or context.config.batch_size
    reasons = _why_rebuild(loader)
    if loader is None or reasons:
        if reasons:
            context.warn(
                f"[{side_name}.loader] rebuilt without {' and '.join(reasons)}: the check compares fixed batches"
            )
        collate = getattr(loader, "collate_fn", None)
        options = {"collate_fn": collate} if collate is not None else {}
        loader = loader_class(dataset, batch_size=batch_size, shuffle=False, num_workers=0, **options)
    return dataset, loader


def _batch_size(loader: Any) -> int | None:
    size = getattr(loader, "batch_size", None)
    if size is None:  # paddle keeps it on the batch sampler
        size = getattr(getattr(loader, "batch_sampler", None), "batch_size", None)
    return size if isinstance(size, int) else None


def _why_rebuild(loader: Any) -> list[str]:
    if loader is None:
        return []
    reasons = []
    sampler = getattr(loader, "sampler", None)
    batch_sampler = getattr(loader, "batch_sampler", None)
    shuffles = type(sampler).__name__ == "RandomSampler" or bool(getattr(batch_sampler, "shuffle", False))
    if shuffles:
        reasons.append("shuffling")
    if int(getattr(loader, "num_workers", 0) or 0) > 0:
        reasons.append("worker processes")
    return reasons


def data_identity(context: CheckContext, side_name: str = "reference") -> Any:
    """What a side's data depends on, for a fingerprint: the small set's files, or the porter's loader
    builder (its code and arguments)."""
    side = context.config.reference if side_name == "reference" else context.config.paddle
    if side.loader:
        code = (
            context.reference_code(side.loader)
            if side_name == "reference"
            else golden.module_digest(side.loader, context.config.root)
        )
        return ["loader", side.loader, side.loader_kwargs, code]
    return sample_digests(context.samples())


def _first_batches(dataset: Any, loader: Any, count: int) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"length": np.array(len(dataset))}
    for index, batch in enumerate(loader):
        if index >= count:
            break
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):  # not (inputs, labels): compare it whole
            arrays.update(named_arrays({f"dataloader_{index}": batch}))
            continue
        images, labels = batch
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

    ref = context.reference_arrays(reference, data_identity(context), cfg.batch_size, cfg.num_batches)
    dataset, loader = paddle_batches(context)
    paddle = _first_batches(dataset, loader, cfg.num_batches)
    return Outcome(ref=ref, paddle=paddle)
