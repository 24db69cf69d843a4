"""The layers whose default initialisation differs between torch and Paddle, and the Paddle initializer that
matches the reference.

Read from the sources (torch 2.13, Paddle 3.3.1), not from memory:
- torch `Linear`, `Conv*d` and `ConvTranspose*d` (`reset_parameters`): weight `kaiming_uniform_(a=sqrt(5))`, which
  is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the weight's fan_in.
- Paddle `Linear`, `Embedding` and `Conv*DTranspose` weights: `create_parameter`'s default, XavierUniform
  (U(+-sqrt(6 / (fan_in + fan_out)))); `Conv*D` weights: Normal(0, sqrt(2 / (in_channels * kernel elements)))
  (`_get_default_param_initializer`, groups left out); every bias: Constant(0).
- torch `Embedding`: N(0, 1). Not listed, since they agree: `LayerNorm`, `BatchNorm*`, `GroupNorm`, `InstanceNorm*`
  (ones and zeros in both), `LSTM`/`GRU`/`RNN` (U(+-1/sqrt(hidden_size)) in both).
`KaimingUniform(negative_slope=math.sqrt(5), nonlinearity="leaky_relu")` has gain sqrt(2 / 6) and limit
gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in), with Paddle's fan_in of the Paddle weight's layout (Linear [in, out]:
shape[0]; conv [out, in/groups, k...]: shape[1] * k), so it is torch's default for all three layer kinds.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from paddle_port_checks.init_stats import Statistics, describe, tolerances
from paddle_port_checks.schema import Finding

TORCH_WEIGHT_DEFAULT = "kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in))"
KAIMING_AS_TORCH = 'paddle.nn.initializer.KaimingUniform(negative_slope=math.sqrt(5), nonlinearity="leaky_relu")'
XAVIER = "XavierUniform = U(+-sqrt(6/(fan_in+fan_out)))"


class Defaults(NamedTuple):
    """One Paddle layer kind whose defaults differ from torch's: per role (weight, bias), both defaults in
    words and the argument that carries an initializer; torch's defaults in numbers come from `expected`."""

    torch: dict[str, str]
    paddle: dict[str, str]
    argument: dict[str, str]  # role -> the Paddle constructor argument: weight_attr, bias_attr


_DENSE = {"weight": "weight_attr", "bias": "bias_attr"}
_TORCH_DENSE = {"weight": TORCH_WEIGHT_DEFAULT, "bias": "U(+-1/sqrt(fan_in))"}
KINDS: dict[str, Defaults] = {
    "linear": Defaults(_TORCH_DENSE, {"weight": XAVIER, "bias": "Constant(0)"}, _DENSE),
    "conv": Defaults(
        _TORCH_DENSE, {"weight": "Normal(0, sqrt(2/(in_channels*kernel)))", "bias": "Constant(0)"}, _DENSE
    ),
    "convtranspose": Defaults(_TORCH_DENSE, {"weight": XAVIER, "bias": "Constant(0)"}, _DENSE),
    "embedding": Defaults({"weight": "normal_ = N(0, 1)"}, {"weight": XAVIER}, {"weight": "weight_attr"}),
}
# Paddle's attribute that holds what the porter passed for each role (Conv keeps its weight's as _param_attr).
_ATTRIBUTES = {"weight": ("_weight_attr", "_param_attr"), "bias": ("_bias_attr",)}


def layer_kind(layer: Any) -> str:
    """The KINDS key of a paddle.nn layer ("Conv2DTranspose" -> "convtranspose"), "" for any other layer: the
    porter's own classes and `paddle.compat` layers keep their own defaults."""
    if not type(layer).__module__.startswith("paddle.nn"):
        return ""
    kind = re.sub(r"[123]d", "", type(layer).__name__.lower())
    return kind if kind in KINDS else ""


def fan_in(kind: str, weight_shape: tuple[int, ...]) -> int:
    """torch's fan_in of the layer's weight, from the Paddle weight's shape (Linear stores [in, out])."""
    if kind == "linear":
        return weight_shape[0]
    return weight_shape[1] * math.prod(weight_shape[2:]) if len(weight_shape) > 1 else weight_shape[0]


def expected(kind: str, role: str, fan: int, count: int) -> Statistics:
    """torch's default distribution of one parameter, as statistics: U(+-1/sqrt(fan_in)), or N(0, 1)."""
    if kind == "embedding":
        return Statistics(0.0, 1.0, -math.inf, math.inf, count, 3.0)
    bound = 1 / math.sqrt(fan) if fan > 0 else 0.0
    return Statistics(0.0, bound / math.sqrt(3), -bound, bound, count, 1.8)


def matching_initializer(kind: str, role: str, fan: int, reference: Statistics) -> str:
    """The Paddle initializer that gives the reference's distribution: torch's default's where the reference is
    on it, else one fitted to what the reference holds (its own init code: a constant, a uniform, a normal)."""
    default = expected(kind, role, fan, reference.size)
    limits = tolerances(default, reference, 5.0)
    on_default = all(abs(reference.value(name) - default.value(name)) <= limits[name] for name in ("mean", "std"))
    if on_default and not reference.constant:
        if kind == "embedding":
            return "paddle.nn.initializer.Normal(0.0, 1.0)"
        if role == "weight":
            return KAIMING_AS_TORCH
        return f"paddle.nn.initializer.Uniform(-{default.max:.6g}, {default.max:.6g})"
    if reference.constant:
        return f"paddle.nn.initializer.Constant({reference.mean:g})"
    # A mean that sampling alone explains is the init's 0, not a number to copy.
    centred = abs(reference.mean) <= 5 * reference.std / math.sqrt(reference.size)
    if reference.kurtosis < 2.4:  # uniform-like (1.8), not normal-like (3)
        if centred:
            bound = max(-reference.min, reference.max)
            return f"paddle.nn.initializer.Uniform(-{bound:.6g}, {bound:.6g})"
        return f"paddle.nn.initializer.Uniform({reference.min:.6g}, {reference.max:.6g})"
    return f"paddle.nn.initializer.Normal({0.0 if centred else reference.mean:.3g}, {reference.std:.6g})"


def passed_initializer(layer: Any, role: str) -> str:
    """What the Paddle layer was given for a role: "" when its attribute names no initializer (the default
    applies), else the initializer's class name."""
    for name in _ATTRIBUTES[role]:
        if hasattr(layer, name):
            initializer = getattr(getattr(layer, name), "initializer", None)
            return type(initializer).__name__ if initializer is not None else ""
    return ""


class Parameter(NamedTuple):
    """One compared parameter: names on both sides, its layer and role, both distributions."""

    paddle_name: str
    torch_name: str
    torch_type: str
    layer: Any  # the Paddle layer that holds it
    weight_shape: tuple[int, ...]  # of the same layer's weight (a bias's fan_in is its weight's)
    reference: Statistics
    paddle: Statistics


def finding(parameter: Parameter) -> Finding | None:
    """A finding for a parameter whose distribution differs on a layer kind whose defaults differ: the layer,
    both defaults, what the Paddle layer was given, and the initializer that matches the reference."""
    kind = layer_kind(parameter.layer)
    role = parameter.paddle_name.rpartition(".")[2]
    defaults = KINDS.get(kind)
    if defaults is None or role not in defaults.argument:
        return None
    fan = fan_in(kind, parameter.weight_shape)
    initializer = matching_initializer(kind, role, fan, parameter.reference)
    given = passed_initializer(parameter.layer, role)
    argument = defaults.argument[role]
    paddle_class = type(parameter.layer).__name__
    why = (
        f"torch's default {role} init of {parameter.torch_type or 'this layer'} is {defaults.torch[role]}, "
        f"paddle.nn.{paddle_class}'s is {defaults.paddle[role]}; "
        + (
            f"its {argument} names no initializer, so Paddle's default applies"
            if not given
            else f"its {argument} sets {given}, which does not give the reference's distribution"
        )
    )
    return Finding(
        torch_layer=parameter.torch_name.rpartition(".")[0],
        paddle_layer=parameter.paddle_name.rpartition(".")[0],
        torch_type=parameter.torch_type,
        paddle_type=paddle_class,
        attribute=f"{role} init",
        torch_value=describe(parameter.reference),
        paddle_value=describe(parameter.paddle),
        expected_paddle_value=initializer,
        why=why,
        visible_in_eval=False,
        severity="error",
        fix=f"paddle.nn.{paddle_class}(..., {argument}=paddle.ParamAttr(initializer={initializer}))",
    )
