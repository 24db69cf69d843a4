"""Checkpoint 8: both models with their own initialisation (seeded, no weights copied), parameter by parameter.

For porters who train from scratch: a Paddle layer left on its framework's default init (Linear, Conv and
Embedding defaults differ from torch's) computes the same function as the reference with copied weights, so
every earlier step passes, yet it starts training elsewhere. Each parameter's mean, std, min and max are
compared with the reference's within the standard errors that two independent draws of its size allow
(`init_stats.py`, [thresholds] init = z); a differing parameter on a layer whose defaults differ is a finding
that names the layer and the Paddle initializer that matches (`init_defaults.py`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from paddle_port_checks.factories import call_factory
from paddle_port_checks.init_defaults import Parameter, finding
from paddle_port_checks.init_stats import MIN_VALUES, STATISTICS, kind_differs, statistics, tolerances
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.steps.forward import print_lint

# The reference's module class per parameter name, cached with its values and taken out before the comparison.
TYPES_KEY = "module_types"


def _reference(context: CheckContext) -> dict[str, np.ndarray]:
    """The reference model's own init (seeded, its checkpoint left out) as arrays, and its modules' classes."""
    from paddle_port_checks.convert import torch_state_to_numpy

    torch, side = context.torch(), context.config.reference
    torch.manual_seed(context.config.seed)
    model = call_factory(side.model, "reference.model", **side.kwargs)
    modules = dict(model.named_modules())
    types = {name: type(modules[name.rpartition(".")[0]]).__name__ for name, _ in model.named_parameters()}
    return {**torch_state_to_numpy(model.state_dict()), TYPES_KEY: np.asarray(json.dumps(types))}


def _paddle_model(context: CheckContext) -> Any:
    """The Paddle model as its factory makes it, seeded: no checkpoint, no converted weights."""
    paddle, side = context.paddle(), context.config.paddle
    paddle.seed(context.config.seed)
    return call_factory(side.model, "paddle.model", **side.kwargs)


def run(context: CheckContext) -> Outcome:
    from paddle_port_checks.convert import convert_state_dict
    from paddle_port_checks.mapping import build_mapping_from_state

    cached = dict(context.reference_arrays(lambda: _reference(context), "own-init"))
    types: dict[str, str] = json.loads(str(cached.pop(TYPES_KEY)))
    model = _paddle_model(context)
    shapes = {name: tuple(value.shape) for name, value in cached.items()}
    mapping = context.mapping() or build_mapping_from_state(shapes, model)
    expected, report = convert_state_dict(cached, model, mapping)
    torch_names = {item.paddle_name: item.torch_name for item in report.mapped}
    layers = dict(model.named_sublayers(include_self=True))
    z = context.config.threshold("init")
    outcome = Outcome(ref={}, paddle={})
    parameters: list[Parameter] = []
    for name, value in model.named_parameters():
        if name not in expected or not np.issubdtype(expected[name].dtype, np.floating):
            continue
        layer = layers.get(name.rpartition(".")[0], model)
        weight = getattr(layer, "weight", None)
        parameter = Parameter(
            name,
            torch_names.get(name, name),
            types.get(torch_names.get(name, ""), ""),
            layer,
            tuple(weight.shape) if weight is not None else tuple(value.shape),
            statistics(expected[name]),
            statistics(value.numpy()),
        )
        parameters.append(parameter)
        small = min(parameter.reference.size, parameter.paddle.size) < MIN_VALUES
        if not small or kind_differs(parameter.reference, parameter.paddle):
            _compared(outcome, parameter, z)
    unmapped = [name for name, _ in model.named_parameters() if name not in expected]
    if unmapped:
        context.warn(f"{len(unmapped)} Paddle parameters have no reference twin and are not compared: {unmapped[:5]}")
    outcome.lint = [item for item in map(finding, _differing(outcome, parameters)) if item is not None]
    outcome.details["init"] = {
        "z": z,
        "parameters": len(parameters),
        "too_few_values": [p.paddle_name for p in parameters if min(p.reference.size, p.paddle.size) < MIN_VALUES],
        "why": "each framework's own init, seeded; statistics within z standard errors of two independent draws",
    }
    print_lint(outcome.lint)
    return outcome


def _compared(outcome: Outcome, parameter: Parameter, z: float) -> None:
    """The four statistics of one parameter under `<statistic>/<paddle name>`, each with its own tolerance."""
    limits = tolerances(parameter.reference, parameter.paddle, z)
    apart = kind_differs(parameter.reference, parameter.paddle)
    for statistic in STATISTICS:
        key = f"{statistic}/{parameter.paddle_name}"
        outcome.ref[key] = np.asarray(parameter.reference.value(statistic))
        outcome.paddle[key] = np.asarray(parameter.paddle.value(statistic))
        outcome.thresholds[key], outcome.methods[key] = limits[statistic], "max"
    if apart:
        outcome.problems[f"std/{parameter.paddle_name}"] = apart


def _differing(outcome: Outcome, parameters: list[Parameter]) -> list[Parameter]:
    """The parameters whose distribution is told apart: a statistic past its tolerance, or a kind difference."""
    differing = []
    for parameter in parameters:
        keys = [f"{statistic}/{parameter.paddle_name}" for statistic in STATISTICS]
        if keys[0] not in outcome.ref:
            continue
        beyond = any(
            abs(float(outcome.paddle[key]) - float(outcome.ref[key])) > outcome.thresholds[key] for key in keys
        )
        if beyond or any(key in outcome.problems for key in keys):
            differing.append(parameter)
    return differing
