"""Which PyTorch tensor becomes which Paddle tensor, worked out from the two models themselves.

Names go first: a torch name that equals a Paddle name once BatchNorm's statistics are renamed
(`running_mean -> _mean`, `running_var -> _variance`) is mapped. What is left is paired by structure:
the layers that own tensors, taken in definition order (or in the order a forward pass calls them, when
an example input is given), are matched by kind (conv, batchnorm, linear, ...) and by tensor shapes, so
two model zoos that share no parameter name still map. Whether a weight needs a transpose is decided by
the Paddle layer's type (only `paddle.nn.Linear` stores `[in, out]`), never by name or shape: a square
Linear looks the same either way.

The result is shown to the porter and saved as an editable JSON file. In that file `transpose` may be
left out (the Paddle layer type decides when converting); an entry written or changed by hand should
drop `how` or set it to "file", which also makes its `transpose`, when given, override the layer type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paddle_port_checks.atomic import write_json_atomic

SCHEMA = 1
HOW_VALUES = ("name", "structure", "file")
# Torch keeps a step counter in every BatchNorm; Paddle has no such tensor and needs none.
DROPPED_LOCAL_NAMES = frozenset({"num_batches_tracked"})
LOCAL_RENAMES = {"running_mean": "_mean", "running_var": "_variance"}
# Layer kinds that own tensors: kind -> (torch class names, paddle class names). Classes are looked up
# along the MRO, so subclasses (torch's NonDynamicallyQuantizableLinear, a porter's own Conv) count too.
LAYER_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conv": (("Conv1d", "Conv2d", "Conv3d"), ("Conv1D", "Conv2D", "Conv3D")),
    "conv_transpose": (
        ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"),
        ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
    ),
    "batchnorm": (
        ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"),
        ("BatchNorm", "BatchNorm1D", "BatchNorm2D", "BatchNorm3D", "SyncBatchNorm"),
    ),
    "linear": (("Linear",), ("Linear",)),
    "layernorm": (("LayerNorm",), ("LayerNorm",)),
    "groupnorm": (("GroupNorm",), ("GroupNorm",)),
    "instancenorm": (
        ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
        ("InstanceNorm1D", "InstanceNorm2D", "InstanceNorm3D"),
    ),
    "embedding": (("Embedding",), ("Embedding",)),
    "prelu": (("PReLU",), ("PReLU",)),
}
# A torch layer known only from a checkpoint (no model) has no class: it may pair with any kind.
ANY_KIND = "*"

Shape = tuple[int, ...]


class MappingError(ValueError):
    """A mapping file the porter must fix: the message names the file and the entry."""


@dataclass(frozen=True)
class MappingEntry:
    """One torch tensor -> one Paddle tensor, and how that pairing was found."""

    torch_name: str
    paddle_name: str
    torch_shape: Shape | None
    paddle_shape: Shape | None
    # None (only from a hand-written file): decided by the Paddle layer type when converting.
    transpose: bool | None
    how: str


@dataclass(frozen=True)
class UnmappedTensor:
    """A tensor that found no partner, with the reason in words."""

    name: str
    shape: Shape | None
    reason: str


@dataclass
class Mapping:
    """The whole torch -> Paddle pairing, plus what could not be paired and why."""

    entries: list[MappingEntry] = field(default_factory=list)
    unmapped_torch: list[UnmappedTensor] = field(default_factory=list)
    unmapped_paddle: list[UnmappedTensor] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every tensor on both sides has a partner."""
        return not self.unmapped_torch and not self.unmapped_paddle

    def by_torch_name(self) -> dict[str, MappingEntry]:
        return {entry.torch_name: entry for entry in self.entries}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "entries": [
                {
                    "torch_name": e.torch_name,
                    "paddle_name": e.paddle_name,
                    "torch_shape": _shape_to_json(e.torch_shape),
                    "paddle_shape": _shape_to_json(e.paddle_shape),
                    "transpose": e.transpose,
                    "how": e.how,
                }
                for e in self.entries
            ],
            "unmapped_torch": [_unmapped_to_json(u) for u in self.unmapped_torch],
            "unmapped_paddle": [_unmapped_to_json(u) for u in self.unmapped_paddle],
            "dropped": list(self.dropped),
        }

    def summary(self) -> str:
        """A few lines for the porter: counts per way of pairing, then every unpaired tensor."""
        counts = {how: sum(e.how == how for e in self.entries) for how in HOW_VALUES}
        lines = [
            f"{len(self.entries)} tensors mapped ("
            + ", ".join(f"{n} by {how}" for how, n in counts.items() if n)
            + f"), {sum(bool(e.transpose) for e in self.entries)} transposed, {len(self.dropped)} dropped"
        ]
        lines += [
            f"  shape mismatch {e.torch_name} {_fmt_shape(e.torch_shape)} -> {e.paddle_name} "
            f"{_fmt_shape(e.paddle_shape)}{' (transposed)' if e.transpose else ''}"
            for e in self.entries
            if e.torch_shape is not None
            and e.paddle_shape is not None
            and _expected_paddle_shape(e.torch_shape, bool(e.transpose)) != e.paddle_shape
        ]
        for side, unmapped in (("torch", self.unmapped_torch), ("paddle", self.unmapped_paddle)):
            lines += [f"  unmapped {side} {u.name} {_fmt_shape(u.shape)}: {u.reason}" for u in unmapped]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Building the mapping


@dataclass
class _Layer:
    """A layer that owns tensors directly, as the matcher sees it."""

    path: str
    kind: str | None
    class_name: str
    tensors: list[tuple[str, str, Shape]]  # (full state-dict name, local name, shape)


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
    return _match(torch_layers, paddle_layers, paddle_transposed_names(paddle_model), dropped)


def build_mapping_from_state(torch_shapes: MappingABC[str, Shape], paddle_model: Any) -> Mapping:
    """Pair a torch checkpoint (names and shapes only, no torch model) with a Paddle model.

    Without the torch model the layer kinds are unknown, except BatchNorm (its running statistics give it
    away), so the structural pass relies on order and shapes alone.
    """
    dropped = [name for name in torch_shapes if _is_dropped(name)]
    kept = [(name, tuple(shape)) for name, shape in torch_shapes.items() if not _is_dropped(name)]
    torch_layers = _group_by_owner(kept, lambda path, locals_: _state_only_kind(locals_))
    paddle_layers = _describe_paddle_model(paddle_model)
    return _match(torch_layers, paddle_layers, paddle_transposed_names(paddle_model), dropped)


def paddle_transposed_names(paddle_model: Any) -> set[str]:
    """Paddle tensors stored as the transpose of torch's: the weights of `paddle.nn.Linear` layers.

    `paddle.compat.nn.Linear` is not a subclass of `paddle.nn.Linear` and keeps torch's `[out, in]`.
    """
    import paddle

    return {
        _join(path, "weight")
        for path, layer in paddle_model.named_sublayers(include_self=True)
        if isinstance(layer, paddle.nn.Linear)
    }


def _describe_torch_model(model: Any) -> list[_Layer]:
    modules = dict(model.named_modules(remove_duplicate=False))
    shapes = [(n, tuple(t.shape)) for n, t in model.state_dict().items() if not _is_dropped(n)]
    return _group_by_owner(shapes, lambda path, _locals: _framework_kind(modules.get(path), side=0))


def _describe_paddle_model(model: Any) -> list[_Layer]:
    layers = dict(model.named_sublayers(include_self=True, remove_duplicate=False))
    shapes = [(n, tuple(t.shape)) for n, t in model.state_dict().items()]
    return _group_by_owner(shapes, lambda path, _locals: _framework_kind(layers.get(path), side=1))


def _group_by_owner(
    shapes: Iterable[tuple[str, Shape]], kind_of: Callable[[str, list[str]], tuple[str | None, str]]
) -> list[_Layer]:
    """Group state-dict tensors by the layer that owns them, in state-dict (definition) order."""
    grouped: dict[str, list[tuple[str, str, Shape]]] = {}
    for name, shape in shapes:
        path, _, local = name.rpartition(".")
        grouped.setdefault(path, []).append((name, local, tuple(int(d) for d in shape)))
    layers = []
    for path, tensors in grouped.items():
        kind, class_name = kind_of(path, [local for _, local, _ in tensors])
        layers.append(_Layer(path, kind, class_name, tensors))
    return layers


def _framework_kind(layer: Any, side: int) -> tuple[str | None, str]:
    """(kind, class name) of a torch module (side 0) or Paddle layer (side 1), via LAYER_KINDS."""
    if layer is None:
        return None, "?"
    for cls in type(layer).__mro__:
        for kind, classes in LAYER_KINDS.items():
            if cls.__name__ in classes[side]:
                return kind, type(layer).__name__
    return None, type(layer).__name__


def _state_only_kind(local_names: list[str]) -> tuple[str, str]:
    if "running_mean" in local_names:
        return "batchnorm", "?"
    return ANY_KIND, "?"


def _torch_call_order(model: Any, example_input: Any) -> dict[str, int]:
    import torch

    order: dict[str, int] = {}
    handles = [module.register_forward_hook(_order_recorder(order, path)) for path, module in model.named_modules()]
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(*[torch.from_numpy(x) for x in _as_tuple(example_input)])
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
            model(*[paddle.to_tensor(x) for x in _as_tuple(example_input)])
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


def _sorted_by_call(layers: list[_Layer], order: dict[str, int]) -> list[_Layer]:
    """Called layers in call order; layers the forward never called keep definition order, at the end.

    Hooks fire when a layer's forward returns, so a container finishes after its children: tensors owned
    directly by a container therefore sort after its children's.
    """
    return sorted(layers, key=lambda layer: order.get(layer.path, len(order)))


def _as_tuple(example_input: Any) -> tuple[Any, ...]:
    return tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)


def _match(
    torch_layers: list[_Layer], paddle_layers: list[_Layer], transposed: set[str], dropped: list[str]
) -> Mapping:
    mapping = Mapping(dropped=dropped)
    paddle_shapes = {name: shape for layer in paddle_layers for name, _, shape in layer.tensors}

    # Pass 1: names.
    used_paddle: set[str] = set()
    for layer in torch_layers:
        for name, _local, shape in layer.tensors:
            target = _renamed(name)
            if target in paddle_shapes:
                mapping.entries.append(
                    MappingEntry(name, target, shape, paddle_shapes[target], target in transposed, "name")
                )
                used_paddle.add(target)
    used_torch = {e.torch_name for e in mapping.entries}

    # Pass 2: structure, over what names left.
    torch_left = _remaining(torch_layers, used_torch)
    paddle_left = _remaining(paddle_layers, used_paddle)
    paired: set[int] = set()
    unpaired_torch: list[_Layer] = []
    for t_layer in torch_left:
        for index, p_layer in enumerate(paddle_left):
            if index in paired or not _kinds_compatible(t_layer.kind, p_layer.kind):
                continue
            pairs = _pair_tensors(t_layer, p_layer, transposed)
            if pairs is not None:
                paired.add(index)
                mapping.entries.extend(pairs)
                break
        else:
            reason = _why_unpaired(t_layer, [p for i, p in enumerate(paddle_left) if i not in paired])
            mapping.unmapped_torch += [UnmappedTensor(n, s, reason) for n, _, s in t_layer.tensors]
            unpaired_torch.append(t_layer)
    for index, p_layer in enumerate(paddle_left):
        if index not in paired:
            reason = _why_unpaired(p_layer, unpaired_torch, other_side="torch")
            mapping.unmapped_paddle += [UnmappedTensor(n, s, reason) for n, _, s in p_layer.tensors]
    return mapping


def _remaining(layers: list[_Layer], used: set[str]) -> list[_Layer]:
    left = []
    for layer in layers:
        tensors = [t for t in layer.tensors if t[0] not in used]
        if tensors:
            left.append(_Layer(layer.path, layer.kind, layer.class_name, tensors))
    return left


def _kinds_compatible(torch_kind: str | None, paddle_kind: str | None) -> bool:
    return torch_kind in (ANY_KIND, paddle_kind)


def _pair_tensors(t_layer: _Layer, p_layer: _Layer, transposed: set[str]) -> list[MappingEntry] | None:
    """The tensor pairs of two layers, or None when they cannot be the same layer.

    Tensors pair by local name (after the BatchNorm renames) when both sides use the same local names,
    else in order (InstanceNorm's `weight` is Paddle's `scale`); every shape must fit, transpose included.
    """
    if len(t_layer.tensors) != len(p_layer.tensors):
        return None
    p_by_local = {local: (name, shape) for name, local, shape in p_layer.tensors}
    t_locals = [LOCAL_RENAMES.get(local, local) for _, local, _ in t_layer.tensors]
    if set(t_locals) == set(p_by_local):
        partners = [p_by_local[local] for local in t_locals]
    else:
        partners = [(name, shape) for name, _, shape in p_layer.tensors]
    entries = []
    for (t_name, _, t_shape), (p_name, p_shape) in zip(t_layer.tensors, partners, strict=True):
        transpose = p_name in transposed
        if _expected_paddle_shape(t_shape, transpose) != p_shape:
            return None
        entries.append(MappingEntry(t_name, p_name, t_shape, p_shape, transpose, "structure"))
    return entries


def _expected_paddle_shape(torch_shape: Shape, transpose: bool) -> Shape:
    return tuple(reversed(torch_shape)) if transpose and len(torch_shape) == 2 else torch_shape


def _why_unpaired(layer: _Layer, candidates: list[_Layer], other_side: str = "paddle") -> str:
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


def _signature(layer: _Layer) -> str:
    return ", ".join(f"{local} {_fmt_shape(shape)}" for _, local, shape in layer.tensors)


def _renamed(torch_name: str) -> str:
    path, dot, local = torch_name.rpartition(".")
    return path + dot + LOCAL_RENAMES.get(local, local)


def _is_dropped(name: str) -> bool:
    return name.rpartition(".")[2] in DROPPED_LOCAL_NAMES


def _join(path: str, local: str) -> str:
    return f"{path}.{local}" if path else local


def _fmt_shape(shape: Shape | None) -> str:
    return "(?)" if shape is None else str(tuple(shape))


# ----------------------------------------------------------------------------------------------------------
# The editable file


def save_mapping(mapping: Mapping, path: str | Path) -> None:
    """Write the mapping as indented JSON (one entry per block) that a porter can edit and review."""
    write_json_atomic(path, mapping.to_json())


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping file; a malformed one raises MappingError naming the file and the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise MappingError(f"{path}: not valid JSON at {where}: {exc.msg}") from exc
    return mapping_from_json(data, source=str(path))


def mapping_from_json(data: Any, source: str = "<mapping>") -> Mapping:
    """Validate and build a Mapping from its JSON form; errors name `source` and the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise MappingError(f'{source}: expected an object with a list under "entries"')
    entries = [_entry_from_json(raw, f"{source}: entries[{i}]") for i, raw in enumerate(data["entries"])]
    for side in ("torch_name", "paddle_name"):
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            name = getattr(entry, side)
            if name in seen:
                raise MappingError(f"{source}: entries[{i}]: {side} '{name}' is already used by entries[{seen[name]}]")
            seen[name] = i
    return Mapping(
        entries=entries,
        unmapped_torch=_unmapped_from_json(data.get("unmapped_torch", []), f"{source}: unmapped_torch"),
        unmapped_paddle=_unmapped_from_json(data.get("unmapped_paddle", []), f"{source}: unmapped_paddle"),
        dropped=_string_list(data.get("dropped", []), f"{source}: dropped"),
    )


def _entry_from_json(raw: Any, where: str) -> MappingEntry:
    if not isinstance(raw, dict):
        raise MappingError(f'{where}: expected an object with "torch_name" and "paddle_name"')
    for key in ("torch_name", "paddle_name"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise MappingError(f'{where}: "{key}" must be a non-empty string, got {raw.get(key)!r}')
    where = f"{where} (torch '{raw['torch_name']}')"
    unknown = set(raw) - {"torch_name", "paddle_name", "torch_shape", "paddle_shape", "transpose", "how"}
    if unknown:
        raise MappingError(f"{where}: unknown field(s) {sorted(unknown)}")
    transpose = raw.get("transpose")
    if transpose is not None and not isinstance(transpose, bool):
        raise MappingError(f'{where}: "transpose" must be true, false or absent, got {transpose!r}')
    how = raw.get("how", "file")
    if how not in HOW_VALUES:
        raise MappingError(f'{where}: "how" must be one of {list(HOW_VALUES)}, got {how!r}')
    return MappingEntry(
        raw["torch_name"],
        raw["paddle_name"],
        _shape_from_json(raw.get("torch_shape"), f"{where}: torch_shape"),
        _shape_from_json(raw.get("paddle_shape"), f"{where}: paddle_shape"),
        transpose,
        how,
    )


def _unmapped_from_json(raw: Any, where: str) -> list[UnmappedTensor]:
    if not isinstance(raw, list):
        raise MappingError(f"{where}: expected a list")
    result = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise MappingError(f'{where}[{i}]: expected an object with a string "name"')
        shape = _shape_from_json(item.get("shape"), f"{where}[{i}]: shape")
        result.append(UnmappedTensor(item["name"], shape, str(item.get("reason", ""))))
    return result


def _shape_from_json(raw: Any, where: str) -> Shape | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in raw):
        raise MappingError(f"{where}: expected a list of integers, got {raw!r}")
    return tuple(raw)


def _string_list(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise MappingError(f"{where}: expected a list of strings")
    return list(raw)


def _shape_to_json(shape: Shape | None) -> list[int] | None:
    return None if shape is None else list(shape)


def _unmapped_to_json(item: UnmappedTensor) -> dict[str, Any]:
    return {"name": item.name, "shape": _shape_to_json(item.shape), "reason": item.reason}
