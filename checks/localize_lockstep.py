"""The lockstep tracer: each Paddle leaf output compared with its reference twin as the forwards run.

Layers are paired in execution order by kind: a Paddle leaf call takes the next pending reference call of
its kind within a lookahead; reference calls skipped over, and Paddle calls with no twin, are unpaired.
The first few divergent pairs are kept and re-run alone afterwards: the Paddle layer gets the reference
layer's own input; if it still differs the layer is wrong, otherwise the error came from before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from paddle_port_checks.inputs import call_model
from paddle_port_checks.layer_kinds import ACTIVATION_KINDS, layer_kind
from paddle_port_checks.layer_outputs import detached_copy, first_tensor, numpy_copy, shape_of
from paddle_port_checks.layer_pairs import ModulePair, paddle_leaves
from paddle_port_checks.localize_reference import ReferenceCall, ReferenceRun
from paddle_port_checks.localize_results import Difference, IsolatedCheck, LayerDiff
from paddle_port_checks.localize_stats import DifferenceMeter

# How many reference calls may wait for a Paddle twin: how far a side may have layers the other lacks.
LOOKAHEAD = 8
# Divergent pairs re-run alone: the first, and the next few to show that they only inherit its error.
RECHECKED = 4


@dataclass
class Recheck:
    """What is kept to re-run one divergent Paddle layer alone: the reference's input and output."""

    layer: LayerDiff
    paddle_layer: Any
    inputs: list[Any]
    reference_output: Any


@dataclass
class Lockstep:
    """Runs both forwards in lockstep and compares each Paddle leaf output with its reference twin."""

    torch_model: Any
    paddle_model: Any
    meter: DifferenceMeter
    layers: list[LayerDiff] = field(default_factory=list)
    unpaired_torch: list[str] = field(default_factory=list)
    unpaired_paddle: list[str] = field(default_factory=list)
    _pairs: dict[tuple[int, int], ModulePair] = field(default_factory=dict)
    _rechecks: list[Recheck] = field(default_factory=list)
    _calls: dict[int, int] = field(default_factory=dict)
    _reference: ReferenceRun | None = None
    _isolating: bool = False

    def run(self, torch_input: Any, paddle_input: Any, grad: bool) -> tuple[Any, Any]:
        """Both forwards, compared layer by layer; returns (reference output, paddle output)."""
        handles = [
            layer.register_forward_post_hook(self._hook_for(name, layer_kind(layer)))
            for name, layer in paddle_leaves(self.paddle_model)
        ]
        self._reference = ReferenceRun(self.torch_model, torch_input, grad)
        try:
            paddle_output = call_model(self.paddle_model, paddle_input)
        finally:
            for handle in handles:
                handle.remove()
            self._reference.stop()
        self.unpaired_torch.extend(self._reference.late)
        return self._reference.output, paddle_output

    def _hook_for(self, name: str, kind: str) -> Any:
        def hook(layer: Any, inputs: Any, output: Any) -> None:
            if not self._isolating:
                self._on_paddle_call(name, kind, layer, first_tensor(output))

        return hook

    def _on_paddle_call(self, name: str, kind: str, layer: Any, output: Any) -> None:
        call_number = self._calls[id(layer)] = self._calls.get(id(layer), 0) + 1
        reference = self._match(kind, shape_of(output))
        if reference is None:
            self.unpaired_paddle.append(name)
            return
        diff = self.meter(reference.output, output)
        if reference.kind != kind:  # the two runs call different activations here: that is the divergence
            torch_type, paddle_type = type(reference.module).__name__, type(layer).__name__
            problem = f"type mismatch: the reference runs {torch_type} here, paddle {paddle_type}"
            diff = replace(diff, diverged=True, problem=problem)
        pair = LayerDiff(
            index=len(self.layers),
            torch_name=reference.name,
            paddle_name=name,
            torch_type=type(reference.module).__name__,
            paddle_type=type(layer).__name__,
            torch_call=reference.call,
            paddle_call=call_number,
            torch_shape=shape_of(reference.output),
            paddle_shape=shape_of(output),
            diff=diff,
        )
        self.layers.append(pair)
        self._pairs.setdefault(
            (id(reference.module), id(layer)), ModulePair(reference.name, reference.module, name, layer)
        )
        if diff.diverged and len(self._rechecks) < RECHECKED:
            self._rechecks.append(
                Recheck(pair, layer, [numpy_copy(value) for value in reference.inputs], detached_copy(reference.output))
            )

    def _match(self, kind: str, shape: tuple[int, ...]) -> ReferenceCall | None:
        """The next reference call of this kind within the lookahead; calls skipped are unpaired. An
        activation meeting another activation of the same output shape at the head pairs with it (a type
        mismatch at that place), rather than with a later activation of its own kind."""
        assert self._reference is not None
        pending = self._reference.pending
        if kind in ACTIVATION_KINDS and not pending:
            self._reference.advance()
        head = pending[0] if pending and kind in ACTIVATION_KINDS else None
        if head is not None and head.kind in ACTIVATION_KINDS and head.kind != kind and shape_of(head.output) == shape:
            return pending.popleft()
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
                        output = first_tensor(kept.paddle_layer(*inputs))
                        diff = self.meter(kept.reference_output, output)
                    except Exception as error:  # a layer that cannot even run on the reference input
                        problem = f"fails on the reference input: {error}"
                        diff = Difference(None, None, None, None, True, problem)
                    checks.append(IsolatedCheck(kept.layer, diff))
        finally:
            self._isolating = False
        return checks
