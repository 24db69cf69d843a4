"""Which PyTorch tensor becomes which Paddle tensor, worked out from the two models themselves.

Paddle names that alias another name of the same tensor (an LSTM's `0.cell_fw.weight_ih` is its
`weight_ih_l0`) are left out: the mapping names each Paddle tensor once, by its canonical name
(``paddle_aliases.py``). A layer of a unit kind (attention, recurrent) takes its sub-layers' tensors along,
so its rule sees the whole layer.

Names go first: a torch name that equals a Paddle name once BatchNorm's statistics are renamed
(`running_mean -> _mean`, `running_var -> _variance`) is mapped. What is left is paired by structure:
the layers that own tensors, taken in definition order (or in the order a forward pass calls them, when
an example input is given), are matched by kind (conv, batchnorm, linear, ...) and by tensor shapes, so
two model zoos that share no parameter name still map. How two layers' tensors pair is a rule looked up by
their kinds (``mapping_rules.py``). Whether a weight needs a transpose is decided by the Paddle layer's type
(``layer_kinds.py``), never by name or shape: a square Linear looks the same either way.

The result is shown to the porter and saved as an editable JSON file (``mapping_file.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingABC
from typing import Any, NamedTuple

from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.layer_kinds import LAYER_KINDS, UNIT_KINDS, known_kind, paddle_transposed_names
from paddle_port_checks.mapping_file import (
    HOW_VALUES,
    SCHEMA,
    Mapping,
    MappingEntry,
    MappingError,
    Shape,
    UnmappedTensor,
    fmt_shape,
    load_mapping,
    mapping_from_json,
    save_mapping,
)
from paddle_port_checks.mapping_rules import (
    ANY_KIND,
    DROPPED_LOCAL_NAMES,
    LOCAL_RENAMES,
    OwnedTensor,
    TensorOwner,
    group_rule_for,
    rule_for,
)
from paddle_port_checks.paddle_aliases import paddle_aliases

# Moved to mapping_file, mapping_rules and layer_kinds; still importable from here.
__all__ = [
    "ANY_KIND",
    "DROPPED_LOCAL_NAMES",
    "HOW_VALUES",
    "LAYER_KINDS",
    "LOCAL_RENAMES",
    "SCHEMA",
    "Mapping",
    "MappingEntry",
    "MappingError",
    "Shape",
    "UnmappedTensor",
    "build_mapping",
    "build_mapping_from_state",
    "load_mapping",
    "mapping_from_json",
    "paddle_transposed_names",
    "save_mapping",
]


def build_mapping(torch_model: Any, paddle_model: Any, example_input: Any = None) -> Mapping:
    """Pair the two models' tensors: by name first, then by layer order, kind and shape.

    `example_input` (a numpy array, or a tuple of them) switches the layer order from definition order
    to the order a forward pass calls the layers, which survives a port that defines its layers in
    another order than it uses them. Both models are run in eval mode and put back as they were.
    """
    torch_layers = _describe_torch_model(torch_model)
    paddle_layers = _describe_paddle_model(paddle_model)
    if example_input is not None:
        torch_layers = _sorted_by_call(torch_layers, _torch_call_order(torch_model, example_input))
        paddle_layers = _sorted_by_call(paddle_layers, _paddle_call_order(paddle_model, example_input))
    dropped = [name for name in torch_model.state_dict() if _is_dropped(name)]
    return _match(torch_layers, paddle_layers, dropped)


def build_mapping_from_state(torch_shapes: MappingABC[str, Shape], paddle_model: Any) -> Mapping:
    """Pair a torch checkpoint (names and shapes only, no torch model) with a Paddle model.

    Without the torch model the layer kinds are unknown, except BatchNorm (its running statistics give it
    away), so the structural pass relies on order and shapes alone.
    """
    dropped = [name for name in torch_shapes if _is_dropped(name)]
    kept = [(name, tuple(shape)) for name, shape in torch_shapes.items() if not _is_dropped(name)]
    units = {name.rpartition(".")[0] for name, _ in kept if name.rpartition(".")[2] in _FUSED_ATTENTION_LOCALS}
    torch_layers = _group_by_owner(kept, lambda path, tensors: _state_only_kind(tensors), units=units)
    return _match(torch_layers, _describe_paddle_model(paddle_model), dropped)


# ----------------------------------------------------------------------------------------------------------
# The layers that own tensors


def _describe_torch_model(model: Any) -> list[TensorOwner]:
    modules = dict(model.named_modules(remove_duplicate=False))
    shapes = [(n, tuple(t.shape)) for n, t in model.state_dict().items() if not _is_dropped(n)]
    return _group_by_owner(
        shapes, lambda path, _tensors: _kind_and_class(modules.get(path)), units=_unit_paths(modules)
    )


def _describe_paddle_model(model: Any) -> list[TensorOwner]:
    layers = dict(model.named_sublayers(include_self=True, remove_duplicate=False))
    aliases = paddle_aliases(model)
    shapes = [(n, tuple(t.shape)) for n, t in model.state_dict().items() if n not in aliases]
    return _group_by_owner(
        shapes,
        lambda path, _tensors: _kind_and_class(layers.get(path)),
        paddle_transposed_names(model),
        _unit_paths(layers),
    )


def _unit_paths(layers: MappingABC[str, Any]) -> set[str]:
    return {path for path, layer in layers.items() if known_kind(layer) in UNIT_KINDS}


def _group_by_owner(
    shapes: Iterable[tuple[str, Shape]],
    kind_of: Callable[[str, list[OwnedTensor]], tuple[str | None, str]],
    transposed: set[str] | frozenset[str] = frozenset(),
    units: set[str] | frozenset[str] = frozenset(),
) -> list[TensorOwner]:
    """Group state-dict tensors by the layer that owns them, in state-dict (definition) order.

    A tensor inside a unit (the outermost one) belongs to the unit, its local name relative to it
    ("out_proj.weight"); any other belongs to the layer that holds it directly.
    """
    outermost_first = sorted(units, key=lambda path: path.count(".") if path else -1)
    grouped: dict[str, list[OwnedTensor]] = {}
    for name, shape in shapes:
        unit = next((u for u in outermost_first if u == "" or name.startswith(u + ".")), None)
        path, local = (unit, name[len(unit) + 1 :] if unit else name) if unit is not None else _split_name(name)
        grouped.setdefault(path, []).append(OwnedTensor(name, local, tuple(int(d) for d in shape), name in transposed))
    layers = []
    for path, tensors in grouped.items():
        kind, class_name = kind_of(path, tensors)
        layers.append(TensorOwner(path, kind, class_name, tuple(tensors)))
    return layers


def _split_name(name: str) -> tuple[str, str]:
    path, _, local = name.rpartition(".")
    return path, local


def _kind_and_class(layer: Any) -> tuple[str | None, str]:
    """(known kind or None, class name) of a torch module or Paddle layer; (None, "?") when there is none."""
    return (None, "?") if layer is None else (known_kind(layer), type(layer).__name__)


# Local names that give a layer's kind away in a checkpoint without its model.
_FUSED_ATTENTION_LOCALS = frozenset({"in_proj_weight", "in_proj_bias", "q_proj_weight"})
_RECURRENT_KIND_BY_GATES = {4: "lstm", 3: "gru", 1: "rnn"}


def _state_only_kind(tensors: list[OwnedTensor]) -> tuple[str, str]:
    """BatchNorm by its running statistics, attention by its fused projection, recurrent layers by the
    gate count of `weight_hh_l0` ([gates x hidden, hidden]); any other layer may be of any kind."""
    by_local = {tensor.local: tensor for tensor in tensors}
    if "running_mean" in by_local:
        return "batchnorm", "?"
    if _FUSED_ATTENTION_LOCALS & set(by_local):
        return "attention", "?"
    recurrent = by_local.get("weight_hh_l0")
    if recurrent is not None and len(recurrent.shape) == 2 and recurrent.shape[1]:
        gates = recurrent.shape[0] // recurrent.shape[1]
        return _RECURRENT_KIND_BY_GATES.get(gates, ANY_KIND), "?"
    return ANY_KIND, "?"


# ----------------------------------------------------------------------------------------------------------
# Call order


def _torch_call_order(model: Any, example_input: Any) -> dict[str, int]:
    import torch

    order: dict[str, int] = {}
    handles = [module.register_forward_hook(_order_recorder(order, path)) for path, module in model.named_modules()]
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            call_model(model, converted(example_input, torch.from_numpy))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.train(training)
    return order


def _paddle_call_order(model: Any, example_input: Any) -> dict[str, int]:
    import paddle

    order: dict[str, int] = {}
    handles = [
        layer.register_forward_post_hook(_order_recorder(order, path))
        for path, layer in model.named_sublayers(include_self=True)
    ]
    modes = {id(layer): (layer, layer.training) for layer in model.sublayers(include_self=True)}
    try:
        model.eval()
        with paddle.no_grad():
            call_model(model, converted(example_input, paddle.to_tensor))
    finally:
        for handle in handles:
            handle.remove()
        for layer, training in modes.values():
            layer.training = training
    return order


def _order_recorder(order: dict[str, int], path: str) -> Callable[..., None]:
    """A forward hook that notes when `path` first ran; it returns None so the output is left alone."""

    def record(*_args: Any) -> None:
        order.setdefault(path, len(order))

    return record


def _sorted_by_call(layers: list[TensorOwner], order: dict[str, int]) -> list[TensorOwner]:
    """Called layers in call order; layers the forward never called keep definition order, at the end.

    Hooks fire when a layer's forward returns, so a container finishes after its children: tensors owned
    directly by a container therefore sort after its children's.
    """
    return sorted(layers, key=lambda layer: order.get(layer.path, len(order)))


# ----------------------------------------------------------------------------------------------------------
# Matching


def _match(torch_layers: list[TensorOwner], paddle_layers: list[TensorOwner], dropped: list[str]) -> Mapping:
    mapping = Mapping(dropped=dropped)
    paddle_tensors = {tensor.name: tensor for layer in paddle_layers for tensor in layer.tensors}

    # Pass 1: names.
    used_paddle: set[str] = set()
    for layer in torch_layers:
        for tensor in layer.tensors:
            target = paddle_tensors.get(_renamed(tensor.name))
            if target is not None:
                mapping.entries.append(
                    MappingEntry(tensor.name, target.name, tensor.shape, target.shape, target.transposed, "name")
                )
                used_paddle.add(target.name)
    used_torch = {e.torch_name for e in mapping.entries}

    # Pass 2: structure, over what names left.
    torch_left = _remaining(torch_layers, used_torch)
    paddle_left = _remaining(paddle_layers, used_paddle)
    paired: set[int] = set()
    grouped_torch: set[int] = set()
    unpaired_torch: list[TensorOwner] = []
    for t_index, t_layer in enumerate(torch_left):
        if t_index in grouped_torch:
            continue
        for index, p_layer in enumerate(paddle_left):
            if index in paired or not _kinds_compatible(t_layer.kind, p_layer.kind):
                continue
            pairs = rule_for(t_layer.kind, p_layer.kind)(t_layer, p_layer)
            if pairs is not None:
                paired.add(index)
                mapping.entries.extend(pairs)
                break
            group = _group_match(torch_left, t_index, grouped_torch, paddle_left, index, paired)
            if group is not None:
                mapping.entries.extend(group.entries)
                grouped_torch.update(group.torch_indexes)
                paired.update(group.paddle_indexes)
                break
        else:
            reason = _why_unpaired(t_layer, [p for i, p in enumerate(paddle_left) if i not in paired])
            mapping.unmapped_torch += [UnmappedTensor(t.name, t.shape, reason) for t in t_layer.tensors]
            unpaired_torch.append(t_layer)
    for index, p_layer in enumerate(paddle_left):
        if index not in paired:
            reason = _why_unpaired(p_layer, unpaired_torch, other_side="torch")
            mapping.unmapped_paddle += [UnmappedTensor(t.name, t.shape, reason) for t in p_layer.tensors]
    return mapping


class _Group(NamedTuple):
    entries: list[MappingEntry]
    torch_indexes: list[int]
    paddle_indexes: list[int]


def _group_match(
    torch_left: list[TensorOwner],
    t_index: int,
    torch_taken: set[int],
    paddle_left: list[TensorOwner],
    p_index: int,
    paddle_taken: set[int],
) -> _Group | None:
    """Ask the group rule of the two layers' kinds, offering the unpaired layers from these two on."""
    rule = group_rule_for(torch_left[t_index].kind, paddle_left[p_index].kind)
    if rule is None:
        return None
    torch_indexes = [i for i in range(t_index, len(torch_left)) if i not in torch_taken]
    paddle_indexes = [i for i in range(p_index, len(paddle_left)) if i not in paddle_taken]
    match = rule([torch_left[i] for i in torch_indexes], [paddle_left[i] for i in paddle_indexes])
    if match is None:
        return None
    return _Group(match.entries, torch_indexes[: match.torch_layers], paddle_indexes[: match.paddle_layers])


def _remaining(layers: list[TensorOwner], used: set[str]) -> list[TensorOwner]:
    left = []
    for layer in layers:
        tensors = tuple(t for t in layer.tensors if t.name not in used)
        if tensors:
            left.append(TensorOwner(layer.path, layer.kind, layer.class_name, tensors))
    return left


def _kinds_compatible(torch_kind: str | None, paddle_kind: str | None) -> bool:
    return torch_kind in (ANY_KIND, paddle_kind)


def _why_unpaired(layer: TensorOwner, candidates: list[TensorOwner], other_side: str = "paddle") -> str:
    if layer.kind == ANY_KIND:
        kind = "any kind"
    else:
        kind = f"kind {layer.kind}" if layer.kind else f"unknown kind ({layer.class_name})"
    same_kind = [c for c in candidates if _kinds_compatible(layer.kind, c.kind) or c.kind == ANY_KIND]
    reason = f"no {other_side} layer of {kind} with {_signature(layer)} left (layer '{layer.path}')"
    if same_kind:
        shown = "; ".join(f"'{c.path}': {_signature(c)}" for c in same_kind[:3])
        more = f" and {len(same_kind) - 3} more" if len(same_kind) > 3 else ""
        reason += f"; unpaired {other_side} layers of that kind: {shown}{more}"
    return reason


def _signature(layer: TensorOwner) -> str:
    return ", ".join(f"{t.local} {fmt_shape(t.shape)}" for t in layer.tensors)


def _renamed(torch_name: str) -> str:
    path, dot, local = torch_name.rpartition(".")
    return path + dot + LOCAL_RENAMES.get(local, local)


def _is_dropped(name: str) -> bool:
    return name.rpartition(".")[2] in DROPPED_LOCAL_NAMES
