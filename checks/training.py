"""What the training steps train with: the loss, optimizer and scheduler of each side, the labels, the mode.

Each side names its factories as `module:callable` (the framework's own, `torch.optim:SGD`, or the porter's),
with keyword arguments; a side that names none gets the tutorials' defaults (DESIGN §6: CrossEntropyLoss,
SGD with momentum 0.9 at lr 1e-3, which Paddle spells `Momentum`), the porter's kwargs laid over them.
Parameters are passed the framework's way (``training_sides.py``): torch `optimizer(model.parameters(), ...)`
and `scheduler(optimizer, ...)`; Paddle builds its scheduler first and passes it as the optimizer's
`learning_rate`, because a Paddle scheduler acts only there.

The labels of the fixed inputs are the porter's `[train] labels` file, else class ids drawn with the run's
seed from the reference output's shape; the Paddle side always takes the reference's, so both sides see the
same ones even when the reference is reused from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.config import Config, ConfigError, Side
from paddle_port_checks.layer_kinds import class_stem
from paddle_port_checks.outputs import to_numpy


@dataclass(frozen=True)
class TrainingSpec:
    """One side's training factories, defaults applied."""

    loss: str
    optimizer: str
    scheduler: str = ""
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    scheduler_kwargs: dict[str, Any] = field(default_factory=dict)


# The tutorials' backward check (lr 1e-3, momentum 0.9): torch's SGD with momentum is Paddle's Momentum.
DEFAULTS = {
    "reference": TrainingSpec(
        loss="torch.nn:CrossEntropyLoss", optimizer="torch.optim:SGD", optimizer_kwargs={"lr": 1e-3, "momentum": 0.9}
    ),
    "paddle": TrainingSpec(
        loss="paddle.nn:CrossEntropyLoss",
        optimizer="paddle.optimizer:Momentum",
        optimizer_kwargs={"learning_rate": 1e-3, "momentum": 0.9},
    ),
}
# Labels travel with the reference arrays under this key, and are taken out before anything is compared.
LABELS_KEY = "labels"


def training_spec(config: Config, side: str) -> TrainingSpec:
    """The side's factories: its own where named, else the default with the porter's kwargs laid over it."""
    own: Side = getattr(config, side)
    default = DEFAULTS[side]

    def kwargs(name: str, named: str) -> dict[str, Any]:
        given: dict[str, Any] = getattr(own, f"{name}_kwargs")
        return dict(given) if named else {**getattr(default, f"{name}_kwargs"), **given}

    return TrainingSpec(
        loss=own.loss or default.loss,
        optimizer=own.optimizer or default.optimizer,
        scheduler=own.scheduler,
        loss_kwargs=kwargs("loss", own.loss),
        optimizer_kwargs=kwargs("optimizer", own.optimizer),
        scheduler_kwargs=dict(own.scheduler_kwargs),
    )


def training_identity(config: Config, reference_code: Any) -> list[Any]:
    """What a reference training result depends on beyond the model: its factories (and their code, which may be
    the porter's), the iterations, the mode and the labels file; `reference_code` digests a `module:callable`."""
    spec = training_spec(config, "reference")
    specs = (spec.loss, spec.optimizer, spec.scheduler)
    labels = golden.file_digest(config.resolve(config.train_labels)) if config.train_labels else "seeded"
    return [
        [spec.loss, spec.loss_kwargs, spec.optimizer, spec.optimizer_kwargs, spec.scheduler, spec.scheduler_kwargs],
        [reference_code(name) for name in specs if name],
        [config.train_iterations, config.train_mode, labels],
    ]


def fixed_labels(config: Config, logits_shape: tuple[int, ...]) -> np.ndarray:
    """The labels of the fixed inputs: `[train] labels`, else seeded class ids in [0, classes) with the shape of
    the logits without their last (class) axis: [B] for [B, C] scores."""
    if config.train_labels:
        path = config.resolve(config.train_labels)
        if not path.is_file():
            raise ConfigError(config.path, "train.labels", f"file not found: {path}")
        try:
            labels: np.ndarray = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ConfigError(config.path, "train.labels", f"cannot read {path} as a .npy array: {error}") from None
        return labels
    if len(logits_shape) < 2:
        raise ConfigError(
            config.path,
            "train.labels",
            f"the reference output has shape {list(logits_shape)}: seeded class ids need [batch, classes] scores; "
            "give a .npy of labels",
        )
    rng = np.random.default_rng(config.seed)
    return rng.integers(0, logits_shape[-1], size=logits_shape[:-1]).astype(np.int64)


def set_mode(layers: Any, model: Any, mode: str) -> None:
    """`mode` "eval": every layer in eval mode (the tutorials' check). "train": training mode, so BatchNorm
    normalises with the batch statistics and updates its running ones, but dropout held off: a random mask
    that cannot be the same in both frameworks would make every comparison meaningless. `layers` are the
    model's layers (torch `modules()`, Paddle `sublayers(include_self=True)`)."""
    model.train() if mode == "train" else model.eval()
    for layer in layers:
        if "dropout" in class_stem(layer):  # Dropout, Dropout2D, AlphaDropout, FeatureAlphaDropout
            layer.eval()


def loss_array(value: Any) -> np.ndarray:
    """A loss as an array: a single value as 0-d (Paddle versions disagree on [] vs [1] for a mean)."""
    array = to_numpy(value)
    return array.reshape(()) if array.size == 1 else array
