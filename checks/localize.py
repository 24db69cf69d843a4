"""First divergence: where the Paddle twin first differs from the reference, and whether that layer is wrong.

A failed forward check says "mean diff 2.6e-02"; this says which layer. Both models run on the same input
with hooks on every leaf layer (parameter-free ones too: pooling, dropout, activations, resize are often
the culprit). The layers are paired in execution order by kind and compared in lockstep
(``localize_lockstep.py``): the reference forward runs in a worker thread that pauses after each leaf call
until the Paddle forward reaches the matching layer (``localize_reference.py``), so one reference
activation is alive at a time and only one framework computes at any moment. The first pair beyond
tolerance (``localize_stats.py``) is then re-run alone: the Paddle layer gets the reference layer's own
input; if it still differs the layer is wrong ("layer"), otherwise the error came from before it
("upstream"). The pitfall lint runs on the same pairs and the findings on the culprit are attached to it.
The result types are in ``localize_results.py``.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import numpy as np

from paddle_port_checks.compare import compare_arrays, near_zero_warning
from paddle_port_checks.inputs import converted
from paddle_port_checks.layer_kinds import transposed_parameters
from paddle_port_checks.layer_outputs import first_tensor, numpy_copy, shape_of
from paddle_port_checks.layer_pairs import ModulePair
from paddle_port_checks.lint import lint
from paddle_port_checks.localize_lockstep import LOOKAHEAD, RECHECKED, Lockstep
from paddle_port_checks.localize_results import Difference, GradientDiff, IsolatedCheck, LayerDiff, Localization
from paddle_port_checks.localize_stats import DifferenceMeter, torch_view

# The result types moved to localize_results, the tracer's settings to localize_lockstep; importable from here.
__all__ = [
    "GRADIENT_SEED",
    "LOOKAHEAD",
    "RECHECKED",
    "Difference",
    "GradientDiff",
    "IsolatedCheck",
    "LayerDiff",
    "Localization",
    "localize",
]

GRADIENT_SEED = 33


def localize(
    torch_model: Any,
    paddle_model: Any,
    model_input: Any,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    backward: bool = False,
) -> Localization:
    """Find the first layer pair whose outputs differ beyond ``atol + rtol * mean|ref|`` (mean abs diff).

    Both models must already hold the same weights and be in eval mode. ``backward=True`` also compares
    every paired layer's parameter gradients after one backward pass from the same seeded cotangent.
    """
    import paddle
    import torch

    meter = DifferenceMeter(atol, rtol)
    tracer = Lockstep(torch_model, paddle_model, meter)
    # One array, or a dict by name / a tuple (named inputs): both models are called the same way (inputs.py).
    torch_input = converted(model_input, lambda array: torch.from_numpy(np.ascontiguousarray(array)))
    # Grad mode stays on for the backward pass.
    with paddle.no_grad() if not backward else contextlib.nullcontext():
        torch_output, paddle_output = tracer.run(torch_input, converted(model_input, paddle.to_tensor), backward)
    isolated = tracer.recheck()
    output = compare_arrays("output", numpy_copy(torch_output), numpy_copy(paddle_output), atol)
    pairs = tracer.module_pairs()
    findings = lint(torch_model, paddle_model, pairs)
    result = Localization(
        atol=atol,
        rtol=rtol,
        layers=tracer.layers,
        isolated=isolated,
        output=output,
        lint=findings,
        warnings=[],
        unpaired_torch=tracer.unpaired_torch,
        unpaired_paddle=tracer.unpaired_paddle,
    )
    result.location = functional_location(paddle_model, result)
    if backward:
        result.gradients = _gradients(pairs, torch_output, paddle_output, meter)
    result.warnings.extend(_warnings(result))
    return result


def functional_location(paddle_model: Any, result: Localization) -> str | None:
    """Where a difference born in code between hooked layers lives (F.interpolate, a mask, a variance):
    the smallest Paddle module whose forward() runs both the last layer that still agrees and the first that
    differs only because its input does, with the file and line of that forward()."""
    first = result.first
    if first is None or not result.isolated or result.isolated[0].verdict != "upstream":
        return None
    before = next((layer for layer in reversed(result.layers[: first.index]) if not layer.diverged), None)
    paths = [first.paddle_name] + ([before.paddle_name] if before is not None else [])
    owner = _common_owner(paths)
    layers = dict(paddle_model.named_sublayers(include_self=True))
    module = layers.get(owner, paddle_model)
    where = _source_of(type(module).forward)
    name = owner or type(paddle_model).__name__
    between = f"between {before.paddle_name} and {first.paddle_name}" if before else f"before {first.paddle_name}"
    return f"in the forward() of {name} ({type(module).__name__}{where}), {between}"


def _common_owner(paths: list[str]) -> str:
    """The deepest module path that holds every one of these layer paths ("" = the model itself)."""
    parts = [path.split(".")[:-1] for path in paths]
    common: list[str] = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        common.append(names[0])
    return ".".join(common)


def _source_of(function: Any) -> str:
    try:
        return f", {inspect.getsourcefile(function)}:{inspect.getsourcelines(function)[1]}"
    except (OSError, TypeError):
        return ""


def _gradients(
    pairs: list[ModulePair], torch_output: Any, paddle_output: Any, meter: DifferenceMeter
) -> list[GradientDiff]:
    """Backpropagate the same seeded cotangent through both models, then compare each paired gradient."""
    import paddle
    import torch

    torch_output, paddle_output = first_tensor(torch_output), first_tensor(paddle_output)
    # Gradients left by an earlier backward pass would add up with this one's.
    for pair in pairs:
        pair.torch_module.zero_grad(set_to_none=True)
        pair.paddle_layer.clear_gradients(set_to_zero=False)
    cotangent = np.random.default_rng(GRADIENT_SEED).standard_normal(shape_of(torch_output)).astype(np.float32)
    torch_output.backward(torch.from_numpy(cotangent).to(torch_output.dtype))
    if shape_of(paddle_output) == cotangent.shape:
        paddle_output.backward(paddle.to_tensor(cotangent, dtype=paddle_output.dtype))
    results = []
    for pair in pairs:
        torch_params = list(pair.torch_module.named_parameters(recurse=False))
        paddle_params = list(pair.paddle_layer.named_parameters(include_sublayers=False))
        transposed = transposed_parameters(pair.paddle_layer)
        for (name, torch_param), (paddle_name, paddle_param) in zip(torch_params, paddle_params, strict=False):
            diff = _gradient_difference(torch_param, paddle_param, paddle_name in transposed, meter)
            results.append(GradientDiff(pair.torch_name, pair.paddle_name, name, diff))
    return results


def _gradient_difference(torch_param: Any, paddle_param: Any, transposed: bool, meter: DifferenceMeter) -> Difference:
    if torch_param.grad is None or paddle_param.grad is None:
        return Difference(None, None, None, None, True, "no gradient on one side")
    # Transposed as a torch view: Paddle's transpose would copy the gradient first.
    paddle_grad = torch_view(paddle_param.grad)
    return meter(torch_param.grad, paddle_grad.T if transposed else paddle_grad)


def _warnings(result: Localization) -> list[str]:
    """Honest caveats: a near-zero reference proves nothing; a difference no hooked layer explains."""
    warnings = []
    near_zero = near_zero_warning([result.output])
    if near_zero:
        warnings.append(near_zero)
    if result.first is None and not result.output.passed:
        warnings.append(
            "The model outputs differ but no paired layer does: the cause is code outside the "
            "hooked layers (functional ops after the last layer, or in forward())."
        )
    if result.unpaired_torch or result.unpaired_paddle:
        warnings.append(
            f"Layers without a twin (not compared): reference {result.unpaired_torch[:8]}, "
            f"paddle {result.unpaired_paddle[:8]}."
        )
    return warnings
