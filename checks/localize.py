"""First divergence: where the Paddle twin first differs from the reference, and whether that layer is wrong.

A failed forward check says "mean diff 2.6e-02"; this says which layer. Both models run on the same input
with hooks on every leaf layer (parameter-free ones too: pooling, dropout, activations, resize are often
the culprit). The layers are paired in execution order by kind and compared in lockstep: the reference
forward runs in a worker thread that pauses after each leaf call until the Paddle forward reaches the
matching layer, so one reference activation is alive at a time (a few when one side has extra layers) and
only one framework computes at any moment. The first pair beyond tolerance is then re-run alone: the
Paddle layer gets the reference layer's own input; if it still differs the layer is wrong ("layer"),
otherwise the error came from before it ("upstream"). The pitfall lint runs on the same pairs and the
findings on the culprit are attached to it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paddle_port_checks.compare import KeyDiff, compare_arrays, near_zero_warning
from paddle_port_checks.lint import Finding, ModulePair, layer_kind, lint, paddle_leaves, torch_leaves

# How many reference calls may wait for a Paddle twin: how far a side may have layers the other lacks.
LOOKAHEAD = 8
# Divergent pairs re-run alone: the first, and the next few to show that they only inherit its error.
RECHECKED = 4
GRADIENT_SEED = 33


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in value.shape)


@dataclass
class Difference:
    """How far one output is from the reference: mean and max absolute, mean relative to mean |ref|."""

    mean: float | None
    max: float | None
    rel: float | None
    ref_mean_abs: float | None
    diverged: bool
    problem: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers as None)."""
        return {key: _finite(getattr(self, key)) for key in ("mean", "max", "rel", "ref_mean_abs")} | {
            "diverged": self.diverged,
            "problem": self.problem,
        }


@dataclass
class LayerDiff:
    """One pair of layers in execution order and how far the Paddle output is from the reference."""

    index: int
    torch_name: str
    paddle_name: str
    torch_type: str
    paddle_type: str
    torch_call: int
    paddle_call: int
    torch_shape: tuple[int, ...]
    paddle_shape: tuple[int, ...]
    diff: Difference

    @property
    def diverged(self) -> bool:
        return self.diff.diverged

    def label(self) -> str:
        """ "torch name <-> paddle name", with the call number of a layer called more than once."""

        def named(name: str, call: int) -> str:
            return name if call == 1 else f"{name} (call {call})"

        return f"{named(self.torch_name, self.torch_call)} <-> {named(self.paddle_name, self.paddle_call)}"

    def to_json(self) -> dict[str, Any]:
        """One point of the per-layer chart."""
        return {
            "index": self.index,
            "reference_layer": self.torch_name,
            "paddle_layer": self.paddle_name,
            "reference_call": self.torch_call,
            "paddle_call": self.paddle_call,
            "reference_type": self.torch_type,
            "paddle_type": self.paddle_type,
            "reference_shape": list(self.torch_shape),
            "paddle_shape": list(self.paddle_shape),
            **self.diff.to_json(),
        }


@dataclass
class IsolatedCheck:
    """A divergent Paddle layer re-run alone on the reference layer's own input."""

    layer: LayerDiff
    diff: Difference

    @property
    def verdict(self) -> str:
        """ "layer" when the layer differs even on the reference input, else "upstream"."""
        return "layer" if self.diff.diverged else "upstream"

    def explanation(self) -> str:
        """Why the verdict, in one sentence with the numbers."""
        alone = f"fed the reference layer's own input, {self.layer.paddle_name} gives "
        if self.diff.problem:
            alone += self.diff.problem
        else:
            alone += f"mean diff {self.diff.mean:.3g} (rel {_fmt(self.diff.rel)})"
        if self.verdict == "layer":
            return alone + ": the layer itself (its weights or its configuration) is wrong"
        return (
            alone + ": the layer is right; the difference comes from before it (code between the hooked "
            "layers, e.g. functional ops, or accumulated float error)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_layer": self.layer.torch_name,
            "paddle_layer": self.layer.paddle_name,
            "verdict": self.verdict,
            "explanation": self.explanation(),
            **self.diff.to_json(),
        }


@dataclass
class GradientDiff:
    """One parameter's gradient after one backward pass, reference vs Paddle."""

    torch_name: str
    paddle_name: str
    parameter: str
    diff: Difference

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_layer": self.torch_name,
            "paddle_layer": self.paddle_name,
            "parameter": self.parameter,
            **self.diff.to_json(),
        }


@dataclass
class Localization:
    """Where the twin first diverges, why (lint) and whether the layer or its input is to blame."""

    atol: float
    rtol: float
    layers: list[LayerDiff]
    isolated: list[IsolatedCheck]
    output: KeyDiff
    lint: list[Finding]
    warnings: list[str]
    unpaired_torch: list[str]
    unpaired_paddle: list[str]
    gradients: list[GradientDiff] | None = None

    @property
    def first(self) -> LayerDiff | None:
        """The first pair in execution order whose outputs differ beyond tolerance."""
        return next((layer for layer in self.layers if layer.diverged), None)

    @property
    def verdict(self) -> str | None:
        """ "layer" or "upstream" for the first divergence; None when nothing diverged."""
        return self.isolated[0].verdict if self.isolated else None

    @property
    def first_findings(self) -> list[Finding]:
        """The lint findings on the first divergent pair: the likely reason it differs."""
        first = self.first
        if first is None:
            return []
        names = (first.torch_name, first.paddle_name)
        return [f for f in self.lint if (f.torch_layer, f.paddle_layer) == names]

    @property
    def first_gradient_divergence(self) -> GradientDiff | None:
        """The divergent gradient met first by the backward pass (the deepest layer in forward order)."""
        return next((g for g in reversed(self.gradients or []) if g.diff.diverged), None)

    def first_divergence_json(self) -> dict[str, Any] | None:
        """The ``first_divergence`` object of the forward step's result JSON (None when none diverged)."""
        first = self.first
        if first is None:
            return None
        isolated = self.isolated[0]
        return {
            "reference_layer": first.torch_name,
            "paddle_layer": first.paddle_name,
            "reference_type": first.torch_type,
            "paddle_type": first.paddle_type,
            "reference_shape": list(first.torch_shape),
            "paddle_shape": list(first.paddle_shape),
            "mean": _finite(first.diff.mean),
            "max": _finite(first.diff.max),
            "rel": _finite(first.diff.rel),
            "problem": first.diff.problem,
            "index": first.index,
            "reference_call": first.torch_call,
            "paddle_call": first.paddle_call,
            "verdict": isolated.verdict,
            "isolated": isolated.to_json(),
            "lint": [f.to_json() for f in self.first_findings],
        }

    def to_json(self) -> dict[str, Any]:
        """``first_divergence`` plus everything around it: the per-layer chart, lint, warnings, gradients."""
        first_gradient = self.first_gradient_divergence
        return {
            "first_divergence": self.first_divergence_json(),
            "tolerance": {"atol": self.atol, "rtol": self.rtol},
            "layers": [layer.to_json() for layer in self.layers],
            "rechecked": [check.to_json() for check in self.isolated],
            "output": self.output.to_json(),
            "lint": [f.to_json() for f in self.lint],
            "warnings": list(self.warnings),
            "unpaired": {"reference": list(self.unpaired_torch), "paddle": list(self.unpaired_paddle)},
            "gradients": None if self.gradients is None else [g.to_json() for g in self.gradients],
            "first_gradient_divergence": first_gradient.to_json() if first_gradient else None,
        }


def localize(
    torch_model: Any,
    paddle_model: Any,
    input_array: np.ndarray,
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

    tracer = _Lockstep(torch_model, paddle_model, atol, rtol)
    torch_input = torch.from_numpy(np.ascontiguousarray(input_array))
    with paddle.no_grad() if not backward else _nothing():
        torch_output, paddle_output = tracer.run(torch_input, paddle.to_tensor(input_array), backward)
    isolated = tracer.recheck()
    output = compare_arrays("output", _numpy(torch_output), _numpy(paddle_output), atol)
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
    if backward:
        result.gradients = _gradients(pairs, torch_output, paddle_output, atol, rtol)
    result.warnings.extend(_warnings(result))
    return result


class _nothing:
    """A context manager that does nothing (grad mode stays on for the backward pass)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class _ReferenceCall:
    """One leaf call of the reference forward, kept only until its Paddle twin is compared."""

    name: str
    module: Any
    kind: str
    call: int
    inputs: tuple[Any, ...]
    output: Any

    def freeze(self) -> None:
        """Copy the tensors: the reference forward is about to move on and may overwrite them in place."""
        self.inputs = tuple(_clone(value) for value in self.inputs)
        self.output = _clone(self.output)


class _ReferenceRun:
    """The reference forward in a worker thread that pauses after every leaf call until asked for more."""

    def __init__(self, model: Any, model_input: Any, grad: bool) -> None:
        self.pending: deque[_ReferenceCall] = deque()
        self.late: list[str] = []  # leaf calls after the Paddle forward ended: unpaired
        self.output: Any = None
        self.error: BaseException | None = None
        self._condition = threading.Condition()
        self._produced, self._allowed = 0, 1
        self._finished = self._stopped = False
        self._calls: dict[int, int] = {}
        self._inplace_inputs: dict[int, tuple[Any, ...]] = {}
        self._handles = []
        for name, module in torch_leaves(model):
            self._handles.append(module.register_forward_hook(self._hook_for(name)))
            if getattr(module, "inplace", False):  # its input is overwritten: keep a copy for the recheck
                self._handles.append(module.register_forward_pre_hook(self._keep_input))
        self._thread = threading.Thread(target=self._run, args=(model, model_input, grad), daemon=True)
        self._thread.start()
        self._wait_for(1)

    def _keep_input(self, module: Any, args: tuple[Any, ...]) -> None:
        self._inplace_inputs[id(module)] = tuple(_clone(value) for value in args)

    def _hook_for(self, name: str) -> Any:
        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            call = self._calls[id(module)] = self._calls.get(id(module), 0) + 1
            inputs = self._inplace_inputs.pop(id(module), args)
            with self._condition:
                if self._stopped:
                    self.late.append(name)
                    return
                self.pending.append(
                    _ReferenceCall(name, module, layer_kind(module), call, inputs, _first_tensor(output))
                )
                self._produced += 1
                self._condition.notify_all()
                while self._produced >= self._allowed and not self._stopped:
                    self._condition.wait()

        return hook

    def _run(self, model: Any, model_input: Any, grad: bool) -> None:
        import torch

        try:
            with torch.set_grad_enabled(grad):  # grad mode is per thread: set it in this one
                self.output = model(model_input)
        except BaseException as error:  # handed to the caller's thread by stop()
            self.error = error
        finally:
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def _wait_for(self, count: int) -> bool:
        with self._condition:
            self._allowed = max(self._allowed, count)
            self._condition.notify_all()
            while self._produced < count and not self._finished:
                self._condition.wait()
            return self._produced >= count

    def advance(self) -> bool:
        """Let the reference run to its next leaf call; False when its forward has ended."""
        for call in self.pending:
            call.freeze()
        return self._wait_for(self._produced + 1)

    def stop(self) -> None:
        """Let the reference forward finish unpaused, remove the hooks, re-raise its error if any."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join()
        for handle in self._handles:
            handle.remove()
        self.late = [call.name for call in self.pending] + self.late
        self.pending.clear()
        if self.error is not None:
            raise RuntimeError(f"the reference forward failed: {self.error!r}") from self.error


@dataclass
class _Recheck:
    """What is kept to re-run one divergent Paddle layer alone: the reference's input and output."""

    layer: LayerDiff
    paddle_layer: Any
    inputs: list[Any]
    reference_output: Any


@dataclass
class _Lockstep:
    """Runs both forwards in lockstep and compares each Paddle leaf output with its reference twin."""

    torch_model: Any
    paddle_model: Any
    atol: float
    rtol: float
    layers: list[LayerDiff] = field(default_factory=list)
    unpaired_torch: list[str] = field(default_factory=list)
    unpaired_paddle: list[str] = field(default_factory=list)
    _pairs: dict[tuple[int, int], ModulePair] = field(default_factory=dict)
    _rechecks: list[_Recheck] = field(default_factory=list)
    _calls: dict[int, int] = field(default_factory=dict)
    _reference: _ReferenceRun | None = None
    _isolating: bool = False

    def run(self, torch_input: Any, paddle_input: Any, grad: bool) -> tuple[Any, Any]:
        """Both forwards, compared layer by layer; returns (reference output, paddle output)."""
        handles = [
            layer.register_forward_post_hook(self._hook_for(name)) for name, layer in paddle_leaves(self.paddle_model)
        ]
        self._reference = _ReferenceRun(self.torch_model, torch_input, grad)
        try:
            paddle_output = self.paddle_model(paddle_input)
        finally:
            for handle in handles:
                handle.remove()
            self._reference.stop()
        self.unpaired_torch.extend(self._reference.late)
        return self._reference.output, paddle_output

    def _hook_for(self, name: str) -> Any:
        def hook(layer: Any, inputs: Any, output: Any) -> None:
            if not self._isolating:
                self._on_paddle_call(name, layer, _first_tensor(output))

        return hook

    def _on_paddle_call(self, name: str, layer: Any, output: Any) -> None:
        call_number = self._calls[id(layer)] = self._calls.get(id(layer), 0) + 1
        reference = self._match(layer_kind(layer))
        if reference is None:
            self.unpaired_paddle.append(name)
            return
        diff = _difference(reference.output, output, self.atol, self.rtol)
        pair = LayerDiff(
            index=len(self.layers),
            torch_name=reference.name,
            paddle_name=name,
            torch_type=type(reference.module).__name__,
            paddle_type=type(layer).__name__,
            torch_call=reference.call,
            paddle_call=call_number,
            torch_shape=_shape(reference.output),
            paddle_shape=_shape(output),
            diff=diff,
        )
        self.layers.append(pair)
        self._pairs.setdefault(
            (id(reference.module), id(layer)), ModulePair(reference.name, reference.module, name, layer)
        )
        if diff.diverged and len(self._rechecks) < RECHECKED:
            self._rechecks.append(
                _Recheck(pair, layer, [_numpy(value) for value in reference.inputs], _clone(reference.output))
            )

    def _match(self, kind: str) -> _ReferenceCall | None:
        """The next reference call of this kind within the lookahead; calls skipped are unpaired."""
        assert self._reference is not None
        pending = self._reference.pending
        while True:
            position = next((i for i, call in enumerate(pending) if call.kind == kind), None)
            if position is not None:
                for _ in range(position):
                    self.unpaired_torch.append(pending.popleft().name)
                return pending.popleft()
            if len(pending) >= LOOKAHEAD or not self._reference.advance():
                return None

    def module_pairs(self) -> list[ModulePair]:
        """Each paired (torch module, paddle layer) once, in execution order."""
        return list(self._pairs.values())

    def recheck(self) -> list[IsolatedCheck]:
        """Re-run each kept divergent Paddle layer alone on its reference input."""
        import paddle

        checks = []
        self._isolating = True
        try:
            with paddle.no_grad():
                for kept in self._rechecks:
                    inputs = [
                        paddle.to_tensor(value) if isinstance(value, np.ndarray) else value for value in kept.inputs
                    ]
                    try:
                        output = _first_tensor(kept.paddle_layer(*inputs))
                        diff = _difference(kept.reference_output, output, self.atol, self.rtol)
                    except Exception as error:  # a layer that cannot even run on the reference input
                        problem = f"fails on the reference input: {error}"
                        diff = Difference(None, None, None, None, True, problem)
                    checks.append(IsolatedCheck(kept.layer, diff))
        finally:
            self._isolating = False
        return checks


def _difference(reference: Any, output: Any, atol: float, rtol: float) -> Difference:
    """Mean/max abs diff and relative diff of the Paddle output (shared via DLPack) against the reference."""
    ref_shape, out_shape = _shape(reference), _shape(output)
    if ref_shape != out_shape:
        return Difference(None, None, None, None, True, f"shape mismatch: reference {ref_shape} vs paddle {out_shape}")
    ref, out = _torch_view(reference), _torch_view(output)
    if ref.numel() == 0:
        return Difference(0.0, 0.0, 0.0, 0.0, False, None)
    on_host = ref.device.type == "cpu" and out.device.type == "cpu"
    mean, largest, ref_mean_abs = _host_stats(ref, out) if on_host else _device_stats(ref, out)
    rel = mean / ref_mean_abs if ref_mean_abs > 0 else (0.0 if mean == 0 else float("inf"))
    finite = np.isfinite(mean) and np.isfinite(largest)
    diverged = not finite or mean > atol + rtol * ref_mean_abs
    problem = None if finite else "NaN/Inf in the outputs"
    return Difference(mean, largest, rel, ref_mean_abs, diverged, problem)


def _torch_view(value: Any) -> Any:
    """A detached torch tensor sharing the memory of a tensor of either framework (no copy)."""
    import torch

    return value.detach() if isinstance(value, torch.Tensor) else torch.from_dlpack(value.detach())


def _host_stats(ref: Any, out: Any) -> tuple[float, float, float]:
    """(mean |ref-out|, max |ref-out|, mean |ref|) by numpy on zero-copy views.

    Single-threaded numpy beats torch's intra-op threads on these one-pass reductions: torch's thread
    hand-offs dominate at activation sizes, and worse on a loaded machine. One temporary buffer serves
    every pass.
    """
    import torch

    def host(tensor: Any) -> np.ndarray:
        # numpy has no bfloat16; half precision is widened so the sums do not overflow.
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.float()
        return tensor.resolve_conj().resolve_neg().numpy()

    ref_array, out_array = host(ref), host(out)
    dtype = ref_array.dtype if ref_array.dtype.kind == "f" else np.dtype(np.float64)
    buffer = np.subtract(ref_array, out_array, dtype=dtype)
    np.abs(buffer, out=buffer)
    mean, largest = float(buffer.mean()), float(buffer.max())
    np.abs(ref_array, out=buffer)
    return mean, largest, float(buffer.mean())


def _device_stats(ref: Any, out: Any) -> tuple[float, float, float]:
    """The same statistics by torch where the tensors live (an accelerator: no copies to the host)."""
    import torch

    dtype = ref.dtype if ref.is_floating_point() else torch.float64
    ref, out = ref.to(dtype), out.to(dtype)
    # Norms accumulate without an |x| temporary: one temporary (the difference) per comparison.
    delta = ref - out
    count = ref.numel()
    mean = float(torch.linalg.vector_norm(delta, 1)) / count
    largest = float(torch.linalg.vector_norm(delta, float("inf")))
    return mean, largest, float(torch.linalg.vector_norm(ref, 1)) / count


def _gradients(
    pairs: list[ModulePair], torch_output: Any, paddle_output: Any, atol: float, rtol: float
) -> list[GradientDiff]:
    """Backpropagate the same seeded cotangent through both models, then compare each paired gradient."""
    import paddle
    import torch

    torch_output, paddle_output = _first_tensor(torch_output), _first_tensor(paddle_output)
    cotangent = np.random.default_rng(GRADIENT_SEED).standard_normal(_shape(torch_output)).astype(np.float32)
    torch_output.backward(torch.from_numpy(cotangent).to(torch_output.dtype))
    if _shape(paddle_output) == cotangent.shape:
        paddle_output.backward(paddle.to_tensor(cotangent, dtype=paddle_output.dtype))
    results = []
    for pair in pairs:
        torch_params = list(pair.torch_module.named_parameters(recurse=False))
        paddle_params = list(pair.paddle_layer.named_parameters(include_sublayers=False))
        for (name, torch_param), (_, paddle_param) in zip(torch_params, paddle_params, strict=False):
            results.append(
                GradientDiff(
                    pair.torch_name,
                    pair.paddle_name,
                    name,
                    _gradient_difference(torch_param, paddle_param, pair, atol, rtol),
                )
            )
    return results


def _gradient_difference(torch_param: Any, paddle_param: Any, pair: ModulePair, atol: float, rtol: float) -> Difference:
    import paddle

    if torch_param.grad is None or paddle_param.grad is None:
        return Difference(None, None, None, None, True, "no gradient on one side")
    paddle_grad = paddle_param.grad
    # paddle.nn.Linear stores [in, out]; decided by the layer's type, never by shape (square Linears).
    if isinstance(pair.paddle_layer, paddle.nn.Linear) and paddle_grad.ndim == 2:
        paddle_grad = paddle_grad.T
    return _difference(torch_param.grad, paddle_grad.contiguous(), atol, rtol)


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


def _first_tensor(value: Any) -> Any:
    """The first tensor of a layer's output (tuples and dicts from multi-output layers)."""
    if isinstance(value, (list, tuple)):
        return _first_tensor(value[0]) if value else None
    if isinstance(value, dict):
        return _first_tensor(next(iter(value.values()))) if value else None
    return value


def _clone(value: Any) -> Any:
    """A detached copy of a tensor (torch or paddle); anything else as is."""
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone()
    return value


def _numpy(value: Any) -> Any:
    """A numpy copy of a tensor of either framework; anything else as is."""
    value = _first_tensor(value)
    return np.array(value.detach().cpu().numpy()) if hasattr(value, "detach") else value


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
