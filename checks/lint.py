"""Pitfall lint: the silent configuration mismatches between a torch layer and its Paddle twin.

Many porting bugs are not in the weights but in a layer's settings whose defaults or conventions differ
between the frameworks (DESIGN §3). The rules that read them live in a registry keyed by layer kind
(``lint_registry.py``; the built-in ones in ``lint_rules.py``); this engine pairs the layers, runs the rules
registered for each pair's kind and reports every setting whose Paddle value is not the expected one, so
the lint explains a divergence (and catches the training-only ones a forward check cannot see).
Frameworks are never imported at module level: the layer objects are only inspected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from paddle_port_checks import lint_rules, lint_rules_sequence  # noqa: F401  (they register the built-in rules)
from paddle_port_checks.layer_kinds import layer_kind
from paddle_port_checks.layer_pairs import ModulePair, align_by_kind, paddle_leaves, pair_by_definition, torch_leaves
from paddle_port_checks.layer_source import construction_site
from paddle_port_checks.lint_registry import Setting, rules_for
from paddle_port_checks.lint_source import lint_functional
from paddle_port_checks.schema import Finding

# Moved to layer_kinds / layer_pairs; still importable from here.
__all__ = [
    "Finding",
    "ModulePair",
    "align_by_kind",
    "layer_kind",
    "lint",
    "lint_pair",
    "pair_by_definition",
    "paddle_leaves",
    "torch_leaves",
]


def _same(expected: Any, actual: Any) -> bool:
    """Equal, with float tolerance for epsilons and momenta (0.9 vs 1 - 0.1)."""
    if (
        isinstance(expected, (float, int))
        and isinstance(actual, (float, int))
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return math.isclose(float(expected), float(actual), rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(expected, tuple) and isinstance(actual, tuple) and len(expected) == len(actual):
        return all(_same(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def paddle_class_name(layer: Any) -> str:
    """How a porter writes the layer's class: `paddle.nn.BatchNorm2D` for Paddle's public layers (not the
    module that defines them, `paddle.nn.layer.norm`), `module.Class` for anything else."""
    cls = type(layer)
    if cls.__module__.split(".")[0] == "paddle":
        import paddle

        if getattr(paddle.nn, cls.__name__, None) is cls:
            return f"paddle.nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def literal(value: Any) -> str:
    """A value as the porter would write it as an argument; a per-dimension tuple of equal entries as one."""
    if isinstance(value, tuple) and value and all(item == value[0] for item in value):
        value = value[0]
    return repr(value)


def fix_for(setting: Setting, paddle_layer: Any) -> str:
    """The exact change that makes the Paddle layer match: its constructor argument and value, or words."""
    if setting.fix:
        return setting.fix
    argument, value = setting.paddle_argument
    return f"{paddle_class_name(paddle_layer)}({argument}={literal(value)})"


def lint_pair(pair: ModulePair) -> list[Finding]:
    """The mismatches between one torch module and its Paddle twin (none when their kinds differ); where the
    Paddle layer is written is `lint`'s to add, since it needs the whole model."""
    kind = layer_kind(pair.torch_module)
    if kind != layer_kind(pair.paddle_layer):
        return []
    findings = []
    settings = (setting for rule in rules_for(kind) for setting in rule(pair.torch_module, pair.paddle_layer))
    for setting in settings:
        if not _same(setting.expected_paddle_value, setting.paddle_value):
            findings.append(
                Finding(
                    torch_layer=pair.torch_name,
                    paddle_layer=pair.paddle_name,
                    torch_type=type(pair.torch_module).__name__,
                    paddle_type=type(pair.paddle_layer).__name__,
                    attribute=setting.attribute,
                    torch_value=setting.torch_value,
                    paddle_value=setting.paddle_value,
                    expected_paddle_value=setting.expected_paddle_value,
                    why=setting.why,
                    visible_in_eval=setting.visible_in_eval,
                    severity="error" if setting.visible_in_eval else "warning",
                    fix=fix_for(setting, pair.paddle_layer),
                )
            )
    return findings


def lint(torch_model: Any, paddle_model: Any, pairs: Iterable[ModulePair] | None = None) -> list[Finding]:
    """Every configuration mismatch between paired layers (pairs default to definition order and kind), then
    between the functional calls of the two models' own forward() code (lint_source.py).

    Runs without a forward pass, so it also reports what eval mode hides (BatchNorm momentum). Each finding
    says where its Paddle layer is constructed, looked up only for the pairs that have findings.
    """
    if pairs is None:
        pairs = pair_by_definition(torch_model, paddle_model)
    seen: set[tuple[int, int]] = set()
    findings = []
    for pair in pairs:
        key = (id(pair.torch_module), id(pair.paddle_layer))
        if key not in seen:  # a layer called twice (a shared ReLU) is linted once
            seen.add(key)
            found = lint_pair(pair)
            if found:
                site = construction_site(paddle_model, pair.paddle_name)
                for finding in found:
                    finding.defined_at = site
            findings.extend(found)
    return findings + lint_functional(torch_model, paddle_model)
