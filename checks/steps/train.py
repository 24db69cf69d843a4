"""Checkpoint 9: a short training run on both sides from the same weights, then the porter's full-training results.

The short run: `[train] train_iterations` iterations (forward, loss, backward, optimizer and scheduler step, as
the backward step runs them, in its `[train] mode`) on the small train set `[data] train_list`, read by each
side's dataset factory in a fixed order (no shuffle, no workers, every random generator seeded before it is
built, so a seeded augmentation draws alike), batch i being batch i modulo their number; without a train list,
on the fixed inputs and labels. Compared: the loss curve `loss_i`, and after it the eval metric of both trained
models (each side's metric on the small val set when datasets are configured, else the top-1 of their eval
output on the fixed inputs). Then what the porter reports of the full training (`training_results.py`): the two
top-1 accuracies within `[train] accuracy_tolerance` points, and the TIPC fields of the Paddle training log.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from paddle_port_checks.golden import file_digest, sample_digests
from paddle_port_checks.inputs import converted
from paddle_port_checks.outputs import primary
from paddle_port_checks.samples import Sample, read_samples
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.training import LABELS_KEY, training_identity
from paddle_port_checks.training_results import TIPC_FIELDS, full_training
from paddle_port_checks.training_sides import PaddleTraining, TorchTraining, iterate

# The loss curve is held to `[thresholds] train` relative to each loss (default 1 %): a faithful ResNet-18 twin's
# float32 rounding grows from 7e-7 at loss_1 to 8.8e-3 (0.4 %) at loss_9, 10 iterations at batch 4 on the demo;
# a wrong optimizer or learning rate parts by far more.
# A metric after the same short run is the same arithmetic on nearly the same logits: the losses agree within
# rounding, yet a sample whose two best classes are that close may flip (seen on the demo in CI, one run in a
# few): the metric may move by one sample of the set it is taken on, no more.
METRIC_SLACK = 1e-6
# A TIPC field is present (1) or not (0): any difference fails.
PRESENT = 0.5


def _train_samples(context: CheckContext) -> list[Sample]:
    cfg = context.config
    return read_samples(cfg.resolve(cfg.train_list), cfg.resolve(cfg.data_root), cfg.data_format, cfg.label_field)


def _eval_size(context: CheckContext, labels: np.ndarray) -> int:
    """How many samples the eval metric is taken on: the val set's first batches, or the fixed inputs."""
    if _on_val_set(context):
        cfg = context.config
        first_batches = cfg.batch_size * cfg.num_batches
        if cfg.reference.loader or cfg.paddle.loader:  # the porter's loaders: no list to count, their batches
            return first_batches
        return max(min(len(context.samples()), first_batches), 1)
    return max(int(np.asarray(labels).size), 1)


def _on_val_set(context: CheckContext) -> bool:
    """Whether the eval metric is taken on the small val set: both sides have a data pipeline."""
    ours, theirs = context.config.reference, context.config.paddle
    return bool((ours.dataset or ours.loader) and (theirs.dataset or theirs.loader))


def _seeded(context: CheckContext, name: str) -> None:
    """Python's, numpy's and both frameworks' generators, before a data pipeline is built: a porter's seeded
    augmentation then draws the same on both sides; the default pipelines (the eval transforms) draw nothing."""
    seed = context.config.seed
    random.seed(seed)
    np.random.seed(seed)
    if name == "reference":
        context.torch().manual_seed(seed)
    else:
        context.paddle().seed(seed)


def _flat_labels(labels: np.ndarray) -> np.ndarray:
    """Class ids as [B]: Paddle collates int labels to [B] or [B, 1] depending on the dataset."""
    return labels.reshape(-1) if labels.ndim == 2 and labels.shape[-1] == 1 else labels


def _feeder(context: CheckContext, side: Any, name: str) -> Callable[[int], None] | None:
    """Iteration i's batch of the train list for one side, or None (the fixed inputs) without a train list."""
    if not context.config.train_list:
        return None
    from paddle_port_checks.steps.data import iterate_batches, paddle_dataset, reference_dataset

    _seeded(context, name)
    samples = _train_samples(context)
    if name == "reference":
        torch = context.torch()
        dataset = reference_dataset(context, samples)
        loader = torch.utils.data.DataLoader(dataset, batch_size=context.config.batch_size, shuffle=False)
        device = context.reference_device.torch
        to_tensor: Callable[[Any], Any] = lambda t: t.to(device)  # noqa: E731
    else:
        paddle = context.paddle()
        dataset = paddle_dataset(context, samples)
        loader = paddle.io.DataLoader(dataset, batch_size=context.config.batch_size, shuffle=False, num_workers=0)
        to_tensor = lambda t: t  # noqa: E731
    batches = list(iterate_batches(context, name, dataset, loader))

    def feed(index: int) -> None:
        inputs, labels = batches[index % len(batches)]
        side.inputs = converted(inputs, to_tensor)
        flat = _flat_labels(np.asarray(labels.numpy()).astype(np.int64))
        side.labels = flat if name == "reference" else context.paddle().to_tensor(flat)

    return feed


def _eval_metric(context: CheckContext, side: Any, name: str, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The trained model's eval metric: each side's own on the small val set, else top-1 on the fixed inputs."""
    if not _on_val_set(context):
        logits = np.asarray(primary(side.eval_outputs()))
        return {"eval_acc_top1": np.asarray(float((logits.argmax(-1) == labels).mean()))}
    from paddle_port_checks.steps import metric
    from paddle_port_checks.steps.data import iterate_batches, paddle_batches, reference_batches

    side.model.eval()
    if name == "reference":
        config, device = context.config.reference, context.reference_device.torch
        made, default, no_grad = reference_batches(context), metric.torch_topk_accuracy, context.torch().no_grad
        to_device: Callable[[Any], Any] = lambda t: t.to(device)  # noqa: E731
    else:
        config, made, default = context.config.paddle, paddle_batches(context), metric.paddle_topk_accuracy
        no_grad, to_device = context.paddle().no_grad, lambda t: t
    function = metric.side_metric(config, name, default)
    values = metric.evaluate(
        side.model, iterate_batches(context, name, *made), function, no_grad, to_device, config, name
    )
    return {f"eval_{key}": value for key, value in values.items()}


def _short_run(context: CheckContext, side: Any, name: str) -> dict[str, np.ndarray]:
    """The side's loss curve and its eval metric after it."""
    trace = iterate(side, context.config.train_run_iterations, _feeder(context, side, name))
    arrays = {f"loss_{index}": loss for index, loss in enumerate(trace.losses)}
    labels = side.labels if name == "reference" else side.labels.numpy()
    return {**arrays, **_eval_metric(context, side, name, np.asarray(labels))}


def _reference(context: CheckContext) -> dict[str, np.ndarray]:
    """The reference's short run, and the labels the Paddle side starts from: the fixed ones, made by the first
    loss (no extra forward: in train mode it would move BatchNorm's statistics), or a train batch's, which the
    Paddle side's own batches replace."""
    side = TorchTraining(context, context.reference_model())
    arrays = _short_run(context, side, "reference")
    assert side.labels is not None
    return {**arrays, LABELS_KEY: side.labels}


def _identity(context: CheckContext) -> list[Any]:
    """What the reference's short run depends on beyond the training objects: the train set, the iterations."""
    cfg = context.config
    if not cfg.train_list:
        data: Any = "fixed inputs"
    else:
        source = cfg.resolve(cfg.train_list)
        data = file_digest(source) if source.is_file() else sample_digests(_train_samples(context))
    return [cfg.train_run_iterations, data, cfg.batch_size, _on_val_set(context)]


def run(context: CheckContext) -> Outcome:
    identity = [*training_identity(context.config, context.reference_code), *_identity(context)]
    ref = dict(context.reference_arrays(lambda: _reference(context), context.inputs().digest(), identity))
    labels = ref.pop(LABELS_KEY)
    side = PaddleTraining(context, context.own_paddle_model(), labels)
    outcome = Outcome(ref=ref, paddle=_short_run(context, side, "paddle"))
    rtol = context.config.threshold("train")
    one_sample = 1.0 / _eval_size(context, labels)
    for key, value in ref.items():
        if key.startswith("eval_"):
            outcome.thresholds[key], outcome.methods[key] = one_sample + METRIC_SLACK, "max"
        elif key.startswith("loss_"):  # float32 rounding grows along a run: each loss within rtol of its own size
            outcome.thresholds[key] = rtol * max(float(np.abs(value).max()), float(np.finfo(np.float32).tiny))
    cfg = context.config
    outcome.details["short_run"] = {
        "iterations": cfg.train_run_iterations,
        "mode": cfg.train_mode,
        "data": f"{cfg.train_list}, batch {cfg.batch_size}, in list order" if cfg.train_list else "the fixed inputs",
        "augmentation": "each side's dataset factory, every generator seeded with [run] seed before it is built"
        if cfg.train_list
        else "none",
        "metric": "each side's metric on the small val set" if _on_val_set(context) else "top-1 on the fixed inputs",
    }
    _full_training(context, outcome)
    return outcome


def _full_training(context: CheckContext, outcome: Outcome) -> None:
    """The porter's full-training top-1 (both or neither) and the Paddle log's TIPC fields, when reported."""
    reported = full_training(context.config)
    outcome.details["full_training"] = reported._asdict()
    if reported.reference is not None and reported.paddle is not None:
        outcome.ref["full_top1"] = np.asarray(reported.reference)
        outcome.paddle["full_top1"] = np.asarray(reported.paddle)
        outcome.thresholds["full_top1"], outcome.methods["full_top1"] = context.config.accuracy_tolerance, "max"
    elif reported.reference is not None or reported.paddle is not None:
        missing = "paddle" if reported.paddle is None else "reference"
        context.warn(
            f"the full-training top-1 of the {missing} side is not given ([train] {missing}_accuracy, or a log "
            "with a top1 value): the accuracies are not compared"
        )
    if reported.missing_fields is None:
        return
    for name in TIPC_FIELDS:
        key = f"tipc/{name}"
        outcome.ref[key] = np.asarray(1.0)
        outcome.paddle[key] = np.asarray(0.0 if name in reported.missing_fields else 1.0)
        outcome.thresholds[key], outcome.methods[key] = PRESENT, "max"
        if name in reported.missing_fields:
            outcome.problems[key] = (
                f"{context.config.paddle_log} has no '{name}' field: TIPC's log parser reads "
                f"{', '.join(TIPC_FIELDS)} from every training log line"
            )
