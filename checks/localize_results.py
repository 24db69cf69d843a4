"""What localisation found: per-layer differences, the isolated rechecks, gradients, and the verdict.

Each type gives its JSON form with ``to_json``; ``Localization.first_divergence_json`` is the
``first_divergence`` object of the forward step's result (its keys are a contract with the app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paddle_port_checks.compare import KeyDiff
from paddle_port_checks.lint import Finding


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
    # Where a difference born between hooked layers lives: "in the forward() of <module> (file:line), between
    # <layer> and <layer>" (None when the first divergent layer is itself to blame).
    location: str | None = None

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
            "location": self.location,
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


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
