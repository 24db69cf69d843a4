"""Weight-mapping rules: how the tensors of one torch layer pair with those of the Paddle layer in its place.

The structural pass of the mapping (``mapping.py``) offers a rule two layers of compatible kinds; the rule
returns their tensor pairs, or None when the two cannot be the same layer. Rules are registered by
(torch kind, paddle kind) (kinds from ``layer_kinds.LAYER_KINDS``); a pair with no registered rule gets
the default, which pairs by local name after Paddle's spellings of BatchNorm's statistics and otherwise in
order, and checks every shape in Paddle's layout (the transpose rule of ``layer_kinds``). A rule that
pairs tensors N:M (a fused q/k/v projection) is one more registered function::

    @mapping_rule("instancenorm", "instancenorm")
    def instancenorm(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
        return pair_tensors(torch_layer, paddle_layer, {**LOCAL_RENAMES, "weight": "scale"})
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import NamedTuple

from paddle_port_checks.layer_kinds import paddle_shape
from paddle_port_checks.mapping_file import MappingEntry, Shape

# Torch keeps a step counter in every BatchNorm; Paddle has no such tensor and needs none.
DROPPED_LOCAL_NAMES = frozenset({"num_batches_tracked"})
# Paddle's names for torch's running statistics, on any layer that keeps them (a porter's FrozenBatchNorm too).
LOCAL_RENAMES = {"running_mean": "_mean", "running_var": "_variance"}


class OwnedTensor(NamedTuple):
    """One tensor of a layer's state dict, as the matcher sees it."""

    name: str  # the full state-dict name
    local: str  # its name inside the layer
    shape: Shape
    transposed: bool = False  # Paddle stores it as the transpose of torch's (Paddle side only)


@dataclass(frozen=True)
class TensorOwner:
    """A layer that owns tensors directly: its path, kind (None: unknown) and tensors in state-dict order."""

    path: str
    kind: str | None
    class_name: str
    tensors: tuple[OwnedTensor, ...]


MappingRule = Callable[[TensorOwner, TensorOwner], "list[MappingEntry] | None"]
_RULES: dict[tuple[str | None, str | None], MappingRule] = {}


def mapping_rule(torch_kind: str, paddle_kind: str) -> Callable[[MappingRule], MappingRule]:
    """Register the rule ``(torch_layer, paddle_layer) -> entries or None`` for one pair of layer kinds."""

    def register(rule: MappingRule) -> MappingRule:
        if (torch_kind, paddle_kind) in _RULES:
            raise ValueError(f"a mapping rule for ({torch_kind!r}, {paddle_kind!r}) is already registered")
        _RULES[(torch_kind, paddle_kind)] = rule
        return rule

    return register


def rule_for(torch_kind: str | None, paddle_kind: str | None) -> MappingRule:
    """The rule registered for this pair of kinds, else the default (``pair_tensors``)."""
    return _RULES.get((torch_kind, paddle_kind), pair_tensors)


def pair_tensors(
    torch_layer: TensorOwner, paddle_layer: TensorOwner, renames: MappingABC[str, str] = LOCAL_RENAMES
) -> list[MappingEntry] | None:
    """The default rule: the tensor pairs of two layers, or None when they cannot be the same layer.

    Tensors pair by local name (after `renames`) when both sides use the same local names, else in order;
    every shape must fit, in Paddle's layout.
    """
    if len(torch_layer.tensors) != len(paddle_layer.tensors):
        return None
    paddle_by_local = {tensor.local: tensor for tensor in paddle_layer.tensors}
    torch_locals = [renames.get(tensor.local, tensor.local) for tensor in torch_layer.tensors]
    if set(torch_locals) == set(paddle_by_local):
        partners = [paddle_by_local[local] for local in torch_locals]
    else:
        partners = list(paddle_layer.tensors)
    entries = []
    for source, target in zip(torch_layer.tensors, partners, strict=True):
        if paddle_shape(source.shape, target.transposed) != target.shape:
            return None
        entries.append(
            MappingEntry(source.name, target.name, source.shape, target.shape, target.transposed, "structure")
        )
    return entries


@mapping_rule("instancenorm", "instancenorm")
def instancenorm(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
    """Paddle's InstanceNorm calls its weight `scale`."""
    return pair_tensors(torch_layer, paddle_layer, {**LOCAL_RENAMES, "weight": "scale"})


@mapping_rule("prelu", "prelu")
def prelu(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
    """Paddle's PReLU calls its weight `_weight`."""
    return pair_tensors(torch_layer, paddle_layer, {"weight": "_weight"})
