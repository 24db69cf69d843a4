"""Weight-mapping rules: how the tensors of one torch layer pair with those of the Paddle layer in its place.

The structural pass of the mapping (``mapping.py``) offers a rule two layers of compatible kinds; the rule
returns their tensor pairs, or None when the two cannot be the same layer. Rules are registered by
(torch kind, paddle kind) (kinds from ``layer_kinds.LAYER_KINDS``); a pair with no registered rule gets
the default, which pairs by local name after Paddle's spellings of BatchNorm's statistics and otherwise in
order, and checks every shape in Paddle's layout (the transpose rule of ``layer_kinds``)::

    @mapping_rule("instancenorm", "instancenorm")
    def instancenorm(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
        return pair_tensors(torch_layer, paddle_layer, {**LOCAL_RENAMES, "weight": "scale"})

A layer of a unit kind (``layer_kinds.UNIT_KINDS``: attention, recurrent) comes with its sub-layers'
tensors, so one rule may pair tensors N:M inside it: the attention rule splits torch's fused
``in_proj_weight`` into Paddle's q/k/v projections. Pairings across several layers on one side (three torch
Linears that make one fused Paddle qkv Linear) are group rules, offered the unpaired layers from the two
current ones on, when the 1:1 rule declines::

    @group_rule("linear", "linear")
    def fused_linear(torch_layers, paddle_layers) -> GroupMatch | None: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from paddle_port_checks.layer_kinds import paddle_shape
from paddle_port_checks.mapping_file import Concat, MappingEntry, Shape, Split, split_shape

# A torch layer known only from a checkpoint (no model) has no class: it may pair with any kind.
ANY_KIND = "*"
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
    return _registrar(_RULES, "mapping rule", torch_kind, paddle_kind)


_Rule = TypeVar("_Rule", bound=Callable[..., Any])


def _registrar(
    registry: dict[tuple[str | None, str | None], _Rule], what: str, torch_kind: str, paddle_kind: str
) -> Callable[[_Rule], _Rule]:
    def register(rule: _Rule) -> _Rule:
        if (torch_kind, paddle_kind) in registry:
            raise ValueError(f"a {what} for ({torch_kind!r}, {paddle_kind!r}) is already registered")
        registry[(torch_kind, paddle_kind)] = rule
        return rule

    return register


def rule_for(torch_kind: str | None, paddle_kind: str | None) -> MappingRule:
    """The rule registered for this pair of kinds, else the default (``pair_tensors``)."""
    return _RULES.get((torch_kind, paddle_kind), pair_tensors)


class GroupMatch(NamedTuple):
    """What a group rule paired: the entries, and how many leading layers of each side it used."""

    entries: list[MappingEntry]
    torch_layers: int
    paddle_layers: int


GroupRule = Callable[[Sequence[TensorOwner], Sequence[TensorOwner]], "GroupMatch | None"]
_GROUP_RULES: dict[tuple[str | None, str | None], GroupRule] = {}


def group_rule(torch_kind: str, paddle_kind: str) -> Callable[[GroupRule], GroupRule]:
    """Register ``(torch_layers, paddle_layers) -> GroupMatch or None``: several layers of one side as one.

    Both sequences start at the two layers being paired and go on with the unpaired layers after them.
    """
    return _registrar(_GROUP_RULES, "group rule", torch_kind, paddle_kind)


def group_rule_for(torch_kind: str | None, paddle_kind: str | None) -> GroupRule | None:
    """The group rule registered for this pair of kinds, if any (a torch layer of any kind takes the Paddle
    layer's kind: a checkpoint without its model still has its three q/k/v Linears)."""
    return _GROUP_RULES.get((paddle_kind if torch_kind == ANY_KIND else torch_kind, paddle_kind))


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
        entry = fitting_entry(source, target)
        if entry is None:
            return None
        entries.append(entry)
    return entries


def fitting_entry(source: OwnedTensor, target: OwnedTensor, split: Split | None = None) -> MappingEntry | None:
    """The structural entry source (or one chunk of it) -> target, or None when the shape does not fit."""
    piece = split_shape(source.shape, split)
    if (split is not None and piece == source.shape) or paddle_shape(piece, target.transposed) != target.shape:
        return None  # a split that does not divide the tensor, or a shape that does not fit
    return MappingEntry(source.name, target.name, source.shape, target.shape, target.transposed, "structure", split)


@mapping_rule("instancenorm", "instancenorm")
def instancenorm(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
    """Paddle's InstanceNorm calls its weight `scale`."""
    return pair_tensors(torch_layer, paddle_layer, {**LOCAL_RENAMES, "weight": "scale"})


@mapping_rule("prelu", "prelu")
def prelu(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
    """Paddle's PReLU calls its weight `_weight`."""
    return pair_tensors(torch_layer, paddle_layer, {"weight": "_weight"})


# ----------------------------------------------------------------------------------------------------------
# Attention: torch's fused q/k/v against Paddle's separate projections

_QKV = ("q", "k", "v")


@mapping_rule("attention", "attention")
def attention(torch_layer: TensorOwner, paddle_layer: TensorOwner) -> list[MappingEntry] | None:
    """torch `in_proj_weight` [3E, E] / `in_proj_bias` [3E] split into Paddle's `q_proj`/`k_proj`/`v_proj`.

    torch keeps separate `q_proj_weight`... when kdim/vdim differ from the embedding size (the bias stays
    fused); `out_proj` pairs by name. Every tensor of both units must be used, or the two are not twins; only
    a missing `in_proj_bias` is mapped anyway (conversion then names it as what the Paddle biases lack).
    """
    torch_by_local = {tensor.local: tensor for tensor in torch_layer.tensors}
    sources: dict[str, tuple[str, Split | None]] = {"out_proj.weight": ("out_proj.weight", None)}
    sources["out_proj.bias"] = ("out_proj.bias", None)
    for index, part in enumerate(_QKV):
        chunk = Split(0, index, len(_QKV))
        separate = f"{part}_proj_weight"
        sources[f"{part}_proj.weight"] = (separate, None) if separate in torch_by_local else ("in_proj_weight", chunk)
        sources[f"{part}_proj.bias"] = ("in_proj_bias", chunk)
    entries = []
    for target in paddle_layer.tensors:
        local, split = sources.get(target.local, ("", None))
        source = torch_by_local.get(local)
        if source is None and local == "in_proj_bias" and len(target.shape) == 1:
            source = _absent_fused_bias(torch_layer, target)
        entry = None if source is None else fitting_entry(source, target, split)
        if entry is None:
            return None
        entries.append(entry)
    used = {entry.torch_name for entry in entries}
    return entries if used >= {tensor.name for tensor in torch_layer.tensors} else None


def _absent_fused_bias(torch_layer: TensorOwner, target: OwnedTensor) -> OwnedTensor:
    """The `in_proj_bias` a torch MultiheadAttention with biases has, where this torch side lacks it: mapped
    all the same, so that converting names the torch tensor the Paddle biases wait for."""
    name = f"{torch_layer.path}.in_proj_bias" if torch_layer.path else "in_proj_bias"
    return OwnedTensor(name, "in_proj_bias", (target.shape[0] * len(_QKV),))


# ----------------------------------------------------------------------------------------------------------
# Fused Linears: several sibling Linears on one side, one Linear on the other


@group_rule("linear", "linear")
def fused_linear(torch_layers: Sequence[TensorOwner], paddle_layers: Sequence[TensorOwner]) -> GroupMatch | None:
    """Sibling torch Linears (q, k, v) joined into one Paddle Linear (qkv), or one torch Linear split into
    sibling Paddle Linears, along the output axis of torch's layout."""
    parts = _sibling_linears(torch_layers)
    for count in range(2, len(parts) + 1):
        entries = _concat_entries(parts[:count], paddle_layers[0])
        if entries is not None:
            return GroupMatch(entries, count, 1)
    pieces = _sibling_linears(paddle_layers)
    for count in range(2, len(pieces) + 1):
        entries = _split_entries(torch_layers[0], pieces[:count])
        if entries is not None:
            return GroupMatch(entries, 1, count)
    return None


def _sibling_linears(layers: Sequence[TensorOwner]) -> list[TensorOwner]:
    """The leading run of Linears with the same parent, the same tensors and the same input size (a layer
    known only from a checkpoint counts when it holds what a Linear holds: a 2-D weight, a 1-D bias)."""
    first = layers[0]
    run = []
    for layer in layers:
        same = (
            (layer.kind == "linear" or (layer.kind == ANY_KIND and _holds_what_a_linear_holds(layer)))
            and layer.path.rpartition(".")[0] == first.path.rpartition(".")[0]
            and [t.local for t in layer.tensors] == [t.local for t in first.tensors]
            and _in_features(layer) == _in_features(first)
        )
        if not same:
            break
        run.append(layer)
    return run


def _holds_what_a_linear_holds(layer: TensorOwner) -> bool:
    ranks = {tensor.local: len(tensor.shape) for tensor in layer.tensors}
    return ranks in ({"weight": 2}, {"weight": 2, "bias": 1})


def _in_features(layer: TensorOwner) -> int | None:
    weight = next((t for t in layer.tensors if t.local == "weight" and len(t.shape) == 2), None)
    if weight is None:
        return None
    return weight.shape[0] if weight.transposed else weight.shape[1]


def _concat_entries(parts: Sequence[TensorOwner], fused: TensorOwner) -> list[MappingEntry] | None:
    if [t.local for t in fused.tensors] != [t.local for t in parts[0].tensors]:
        return None
    entries = []
    for position, target in enumerate(fused.tensors):
        sources = [part.tensors[position] for part in parts]
        joined = (sum(s.shape[0] for s in sources), *sources[0].shape[1:])
        if paddle_shape(joined, target.transposed) != target.shape:
            return None
        concat = Concat(tuple(s.name for s in sources), 0)
        entries.append(
            MappingEntry(concat.label, target.name, joined, target.shape, target.transposed, "structure", None, concat)
        )
    return entries


def _split_entries(fused: TensorOwner, pieces: Sequence[TensorOwner]) -> list[MappingEntry] | None:
    if [t.local for t in fused.tensors] != [t.local for t in pieces[0].tensors]:
        return None
    entries = []
    for position, source in enumerate(fused.tensors):
        for index, piece in enumerate(pieces):
            entry = fitting_entry(source, piece.tensors[position], Split(0, index, len(pieces)))
            if entry is None:
                return None
            entries.append(entry)
    return entries
