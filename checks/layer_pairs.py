"""Which torch module plays the part of which Paddle layer: the leaves of both models, paired by kind.

Lint and localisation both work on such pairs; localisation pairs in execution order, and lint, given no
pairs, in definition order (this module).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from paddle_port_checks.layer_kinds import UNIT_KINDS, known_kind, layer_kind


class ModulePair(NamedTuple):
    """A torch module and the Paddle layer that plays its part, with their full paths."""

    torch_name: str
    torch_module: Any
    paddle_name: str
    paddle_layer: Any


def torch_leaves(model: Any) -> list[tuple[str, Any]]:
    """Leaf modules of a torch model in definition order (the root itself when it has no children). Attention
    and recurrent layers count as leaves, their parts inside them: they pair (and compare) as units."""
    return _leaves(list(model.named_modules()), lambda module: next(module.children(), None) is None)


def paddle_leaves(model: Any) -> list[tuple[str, Any]]:
    """Leaf layers of a Paddle model in definition order (the root itself when it has no sublayers); units as
    for torch (a Paddle LSTM keeps its per-direction cells as sublayers)."""
    return _leaves(list(model.named_sublayers(include_self=True)), lambda layer: not layer.sublayers())


def _leaves(named: list[tuple[str, Any]], childless: Callable[[Any], bool]) -> list[tuple[str, Any]]:
    leaves: list[tuple[str, Any]] = []
    units: list[str] = []  # paths of unit layers found: what lies below them is theirs
    for name, module in named:
        if any(name.startswith(f"{unit}.") for unit in units):
            continue
        unit = known_kind(module) in UNIT_KINDS
        if unit and name:
            units.append(name)
        if (unit or childless(module)) and layer_kind(module) != "identity":
            leaves.append((name or type(module).__name__, module))
    return leaves


def align_by_kind(torch_kinds: Sequence[str], paddle_kinds: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of the longest kind-for-kind alignment; layers one side lacks are left out."""
    matcher = difflib.SequenceMatcher(None, list(torch_kinds), list(paddle_kinds), autojunk=False)
    return [(block.a + k, block.b + k) for block in matcher.get_matching_blocks() for k in range(block.size)]


def pair_by_definition(torch_model: Any, paddle_model: Any) -> list[ModulePair]:
    """Pair leaf layers by definition order and kind: what lint uses when no execution pairing is given."""
    torch_side, paddle_side = torch_leaves(torch_model), paddle_leaves(paddle_model)
    pairs = align_by_kind([layer_kind(m) for _, m in torch_side], [layer_kind(m) for _, m in paddle_side])
    return [ModulePair(*torch_side[i], *paddle_side[j]) for i, j in pairs]
