"""The training iterations of both frameworks, one loop: forward, loss, backward, optimizer step, scheduler step.

Each framework gets an adapter with the same operations (the loss on the fixed inputs, backward, the
gradients, the step, the learning rate, the state, the eval output, what its optimizer and loss are set to);
`iterate` runs them in the tutorials' order and records `loss_i` and `lr_i` (the rate iteration i's step
used) and the gradients of iteration 0. The optimizer is built on first use, so the loss step never needs one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from paddle_port_checks.factories import call_factory, load_callable
from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.outputs import model_outputs, primary, to_numpy
from paddle_port_checks.replay import as_float64
from paddle_port_checks.training import fixed_labels, loss_array, set_mode, training_spec
from paddle_port_checks.training_facts import paddle_facts, torch_facts


@dataclass
class Trace:
    """What the iterations of one side gave."""

    losses: list[np.ndarray]
    learning_rates: list[float]
    gradients: dict[str, np.ndarray]  # after iteration 0's backward, by the side's own parameter names


def iterate(side: Any, iterations: int, feed: Callable[[int], None] | None = None) -> Trace:
    """`iterations` training iterations of one side (a TorchTraining or a PaddleTraining); `feed(i)`, when
    given, sets the side's inputs and labels of iteration i first (the train step's batches), else every
    iteration trains on the fixed inputs."""
    losses: list[np.ndarray] = []
    rates: list[float] = []
    gradients: dict[str, np.ndarray] = {}
    for index in range(iterations):
        if feed is not None:
            feed(index)
        loss = side.loss()
        loss.backward()
        if index == 0:
            gradients = side.gradients()
        losses.append(loss_array(loss))
        rates.append(side.learning_rate())
        side.step()
    return Trace(losses, rates, gradients)


class _Side:
    """What both adapters share: the optimizer and its scheduler, built together on first use, and the step."""

    @functools.cached_property
    def _optimization(self) -> tuple[Any, Any]:
        return self._build_optimization()

    def _build_optimization(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def _clear_gradients(self) -> None:
        raise NotImplementedError

    @property
    def optimizer(self) -> Any:
        return self._optimization[0]

    @property
    def scheduler(self) -> Any:
        return self._optimization[1]

    def step(self) -> None:
        self.optimizer.step()
        self._clear_gradients()
        if self.scheduler is not None:
            self.scheduler.step()


class TorchTraining(_Side):
    """The reference side: `optimizer(model.parameters(), **kwargs)`, `scheduler(optimizer, **kwargs)`."""

    def __init__(self, context: Any, model: Any, float64: bool = False) -> None:
        self.torch, self.model, self.config = context.torch(), model, context.config
        self.device = context.reference_device.torch
        self.spec = training_spec(context.config, "reference")
        self.loss_function = call_factory(self.spec.loss, "reference.loss", **self.spec.loss_kwargs)
        if float64 and hasattr(self.loss_function, "double"):  # a loss with class weights holds them as buffers
            self.loss_function.double()
        self.inputs = converted(_inputs(context, float64), lambda array: self.torch.from_numpy(array).to(self.device))
        self.labels: np.ndarray | None = None  # made from the first output's shape unless [train] labels names them
        set_mode(model.modules(), model, context.config.train_mode)

    def _build_optimization(self) -> tuple[Any, Any]:
        """Both before the first step: torch's scheduler wraps the optimizer's step when it is made."""
        spec = self.spec
        optimizer = call_factory(
            spec.optimizer, "reference.optimizer", self.model.parameters(), **spec.optimizer_kwargs
        )
        if not spec.scheduler:
            return optimizer, None
        return optimizer, call_factory(spec.scheduler, "reference.scheduler", optimizer, **spec.scheduler_kwargs)

    def loss(self) -> Any:
        logits = primary(call_model(self.model, self.inputs))
        if self.labels is None:
            self.labels = fixed_labels(self.config, tuple(logits.shape))
        return self.loss_function(logits, self.torch.from_numpy(self.labels).to(self.device))

    def gradients(self) -> dict[str, np.ndarray]:
        return {name: to_numpy(p.grad).copy() for name, p in self.model.named_parameters() if p.grad is not None}

    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _clear_gradients(self) -> None:
        self.optimizer.zero_grad()

    def state(self) -> dict[str, np.ndarray]:
        return {name: to_numpy(value).copy() for name, value in self.model.state_dict().items()}

    def eval_outputs(self) -> dict[str, np.ndarray]:
        self.model.eval()
        with self.torch.no_grad():
            return model_outputs(call_model(self.model, self.inputs))

    def describe(self) -> dict[str, Any]:
        """What the lint compares: the optimizer's class and settings, the loss's, the scheduler's."""
        return torch_facts(self.optimizer, self.loss_function, self.scheduler)


class PaddleTraining(_Side):
    """The Paddle side: the scheduler built first, `scheduler(**kwargs)` (its `learning_rate` taken from the
    optimizer's kwargs when not given), then `optimizer(parameters=model.parameters(), learning_rate=scheduler,
    **kwargs)`: a Paddle scheduler acts only as the optimizer's learning_rate."""

    def __init__(self, context: Any, model: Any, labels: np.ndarray, float64: bool = False) -> None:
        self.paddle, self.model = context.paddle(), model
        self.spec = training_spec(context.config, "paddle")
        self.loss_function = call_factory(self.spec.loss, "paddle.loss", **self.spec.loss_kwargs)
        self.inputs = converted(_inputs(context, float64), self.paddle.to_tensor)
        self.labels = self.paddle.to_tensor(labels)
        set_mode(model.sublayers(include_self=True), model, context.config.train_mode)

    def _build_optimization(self) -> tuple[Any, Any]:
        """The scheduler first, then the optimizer that takes it as its learning rate."""
        spec, scheduler = self.spec, None
        kwargs = dict(spec.optimizer_kwargs)
        if spec.scheduler:
            scheduler_kwargs = dict(spec.scheduler_kwargs)
            starts = "learning_rate" in _parameters(load_callable(spec.scheduler, "paddle.scheduler"))
            if starts and "learning_rate" not in scheduler_kwargs and "learning_rate" in kwargs:
                scheduler_kwargs["learning_rate"] = kwargs["learning_rate"]
            scheduler = kwargs["learning_rate"] = call_factory(spec.scheduler, "paddle.scheduler", **scheduler_kwargs)
        optimizer = call_factory(spec.optimizer, "paddle.optimizer", parameters=self.model.parameters(), **kwargs)
        return optimizer, scheduler

    def loss(self) -> Any:
        return self.loss_function(primary(call_model(self.model, self.inputs)), self.labels)

    def gradients(self) -> dict[str, np.ndarray]:
        return {
            name: p.grad.numpy().copy()
            for name, p in self.model.named_parameters()
            if not p.stop_gradient and p.grad is not None
        }

    def learning_rate(self) -> float:
        return float(self.optimizer.get_lr())

    def _clear_gradients(self) -> None:
        self.optimizer.clear_grad()

    def state(self) -> dict[str, np.ndarray]:
        return {name: value.numpy().copy() for name, value in self.model.state_dict().items()}

    def trainable(self) -> set[str]:
        """The parameters the optimizer updates (BatchNorm's `_mean`/`_variance` are parameters that do not)."""
        return {name for name, p in self.model.named_parameters() if not p.stop_gradient}

    def eval_outputs(self) -> dict[str, np.ndarray]:
        self.model.eval()
        with self.paddle.no_grad():
            return model_outputs(call_model(self.model, self.inputs))

    def describe(self) -> dict[str, Any]:
        return paddle_facts(self.optimizer, self.loss_function, self.scheduler, self.model, self.labels.ndim)


def _inputs(context: Any, float64: bool) -> Any:
    """The fixed inputs as the model takes them, their float arrays cast for a float64 replay (replay.py)."""
    inputs = context.inputs().as_called
    return as_float64(inputs) if float64 else inputs


def _parameters(factory: Any) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()
