"""Checkpoint 2: the small data set through both pipelines: length and the first N batches, no shuffle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.config import ConfigError
from paddle_port_checks.factories import call_factory
from paddle_port_checks.golden import sample_digests
from paddle_port_checks.outputs import named_arrays
from paddle_port_checks.samples import SamplesError
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
    dataset = getattr(loader, "dataset", None)
    if dataset is None:  # not `or`: an empty dataset is falsy, and is still the builder's answer (length 0)
        dataset = next((part for part in parts if hasattr(part, "__getitem__") and hasattr(part, "__len__")), None)
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


def dataset_samples(dataset: Any) -> list[Any] | None:
    """The (path, label) list an ImageFolder-style dataset keeps (torchvision's and paddle's `samples`,
    older `imgs`), or None."""
    for name in ("samples", "imgs"):
        entries = getattr(dataset, name, None)
        if isinstance(entries, list) and entries and isinstance(entries[0], (tuple, list)) and entries[0]:
            return entries
    return None


def data_key(context: CheckContext, side_name: str) -> str:
    """The config key behind a side's data: its own loader builder, else its dataset factory."""
    side = context.config.reference if side_name == "reference" else context.config.paddle
    return f"{side_name}.loader" if side.loader else f"{side_name}.dataset"


def read_item(context: CheckContext, side_name: str, dataset: Any, index: int) -> Any:
    """`dataset[index]`; an exception of the porter's reader (a truncated JPEG, an image PIL cannot open)
    becomes one line naming the item and its file, since the traceback's end names only PIL's code."""
    try:
        return dataset[index]
    except Exception as error:
        entries = dataset_samples(dataset) or []
        # An image's path, shown from the workspace; a sentence (tsv) or a record (jsonl), shortened.
        source = str(entries[index][0]) if index < len(entries) else ""
        if Path(source).is_absolute() and Path(source).is_relative_to(context.config.root):
            source = str(Path(source).relative_to(context.config.root))
        named = f" ({source[:80]})" if source else ""
        why = (str(error).strip().splitlines() or [""])[-1]
        raise SamplesError(
            f"[{data_key(context, side_name)}] item {index}{named}: {type(error).__name__}: {why}"
        ) from error


def iterate_batches(context: CheckContext, side_name: str, dataset: Any, loader: Any) -> Iterator[Any]:
    """The loader's batches. When one cannot be made, its items are read one by one to find the one that
    fails (`read_item` names it); a failure no single item repeats (the collate function) is re-raised."""
    batches = iter(loader)
    for number in itertools.count():
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception:
            size = _batch_size(loader) or context.config.batch_size
            length = len(dataset) if hasattr(dataset, "__len__") else (number + 1) * size
            for index in range(number * size, min((number + 1) * size, length)):
                read_item(context, side_name, dataset, index)
            raise
        yield batch


def _first_batches(
    context: CheckContext, side_name: str, dataset: Any, loader: Any, count: int
) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {"length": np.array(len(dataset))}
    for index, batch in enumerate(iterate_batches(context, side_name, dataset, loader)):
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
        return _first_batches(context, "reference", dataset, loader, cfg.num_batches)

    ref = context.reference_arrays(reference, data_identity(context), cfg.batch_size, cfg.num_batches)
    dataset, loader = paddle_batches(context)
    paddle = _first_batches(context, "paddle", dataset, loader, cfg.num_batches)
    return Outcome(ref=ref, paddle=paddle)
