"""The weight mapping as a record, and the editable JSON file it is saved to and loaded from.

Which torch tensor becomes which Paddle tensor, how each pairing was found, and what could not be paired
and why; written and read by the same code. In the file `transpose` may be left out (the Paddle layer type
decides when converting); an entry written or changed by hand should drop `how` or set it to "file", which
also makes its `transpose`, when given, override the layer type.

Most entries are one tensor to one tensor. Two kinds of entry pair N:M, both in torch's layout (a transpose
the Paddle layer type asks for applies to the piece afterwards):

    {"torch_name": "attn.in_proj_weight", "paddle_name": "attn.k_proj.weight",
     "split": {"axis": 0, "index": 1, "parts": 3}}              # the 2nd of 3 equal chunks along axis 0
    {"concat": {"torch_names": ["attn.q.weight", "attn.k.weight", "attn.v.weight"], "axis": 0},
     "paddle_name": "attn.qkv.weight"}                            # the three, concatenated along axis 0

A torch tensor may feed several entries only as the chunks of one split (same axis and parts, each index
once); a concat entry has no "torch_name" (its sources are the list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paddle_port_checks.atomic import write_json_atomic
from paddle_port_checks.layer_kinds import paddle_shape

SCHEMA = 1
HOW_VALUES = ("name", "structure", "file")

Shape = tuple[int, ...]


class MappingError(ValueError):
    """A mapping file the porter must fix: the message names the file and the entry."""


@dataclass(frozen=True)
class Split:
    """Chunk `index` of `parts` equal chunks along `axis` of the torch tensor (a fused q/k/v projection)."""

    axis: int
    index: int
    parts: int

    def describe(self) -> str:
        return f"part {self.index + 1} of {self.parts} along axis {self.axis}"


@dataclass(frozen=True)
class Concat:
    """Several torch tensors joined along `axis`, in this order, to make one Paddle tensor (a fused qkv)."""

    torch_names: tuple[str, ...]
    axis: int

    @property
    def label(self) -> str:
        """How the entry is named where one torch name is expected (reports, the wizard's table)."""
        return " + ".join(self.torch_names)

    def describe(self) -> str:
        return f"{len(self.torch_names)} tensors concatenated along axis {self.axis}"


@dataclass(frozen=True)
class MappingEntry:
    """One torch tensor (or a chunk of one, or several joined) -> one Paddle tensor, and how it was found.

    For a concat entry `torch_name` is the sources' label ("a + b + c") and `torch_shape` the joined
    shape; for a split entry `torch_shape` is the whole torch tensor's shape.
    """

    torch_name: str
    paddle_name: str
    torch_shape: Shape | None
    paddle_shape: Shape | None
    # None (only from a hand-written file): decided by the Paddle layer type when converting.
    transpose: bool | None
    how: str
    split: Split | None = None
    concat: Concat | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The torch tensors this entry reads."""
        return self.concat.torch_names if self.concat is not None else (self.torch_name,)

    def piece_shape(self) -> Shape | None:
        """The torch-layout shape this entry hands on: a split's chunk, else `torch_shape`."""
        return None if self.torch_shape is None else split_shape(self.torch_shape, self.split)

    def describe_piece(self) -> str:
        """ "" for a 1:1 entry, else what is taken: "part 2 of 3 along axis 0" / "3 tensors concatenated ..." """
        piece = self.split or self.concat
        return piece.describe() if piece is not None else ""


def split_shape(shape: Shape, split: Split | None) -> Shape:
    """The shape of one chunk of `split` (the shape itself without a split, or when it does not divide)."""
    if split is None or not -len(shape) <= split.axis < len(shape) or shape[split.axis] % split.parts:
        return shape
    axis = split.axis % len(shape)
    return (*shape[:axis], shape[axis] // split.parts, *shape[axis + 1 :])


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

    def piece_counts(self) -> dict[str, int]:
        """How many entries take a chunk of a torch tensor, and how many join several."""
        return {
            "split": sum(e.split is not None for e in self.entries),
            "concatenated": sum(e.concat is not None for e in self.entries),
        }

    def to_json(self) -> dict[str, Any]:
        """The file's content (see mapping_from_json for the way back)."""
        return {
            "schema": SCHEMA,
            "entries": [_entry_to_json(e) for e in self.entries],
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
            + f"), {sum(bool(e.transpose) for e in self.entries)} transposed, "
            + "".join(f"{n} {label}, " for label, n in self.piece_counts().items() if n)
            + f"{len(self.dropped)} dropped"
        ]
        lines += [
            f"  shape mismatch {e.torch_name} {fmt_shape(e.piece_shape())} -> {e.paddle_name} "
            f"{fmt_shape(e.paddle_shape)}{' (transposed)' if e.transpose else ''}"
            for e in self.entries
            if (piece := e.piece_shape()) is not None
            and e.paddle_shape is not None
            and paddle_shape(piece, bool(e.transpose)) != e.paddle_shape
        ]
        for side, unmapped in (("torch", self.unmapped_torch), ("paddle", self.unmapped_paddle)):
            lines += [f"  unmapped {side} {u.name} {fmt_shape(u.shape)}: {u.reason}" for u in unmapped]
        return "\n".join(lines)


def fmt_shape(shape: Shape | None) -> str:
    """A shape for messages: "(3, 4)", or "(?)" when unknown."""
    return "(?)" if shape is None else str(tuple(shape))


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
    _check_each_tensor_used_once(entries, source)
    return Mapping(
        entries=entries,
        unmapped_torch=_unmapped_from_json(data.get("unmapped_torch", []), f"{source}: unmapped_torch"),
        unmapped_paddle=_unmapped_from_json(data.get("unmapped_paddle", []), f"{source}: unmapped_paddle"),
        dropped=_string_list(data.get("dropped", []), f"{source}: dropped"),
    )


def _check_each_tensor_used_once(entries: list[MappingEntry], source: str) -> None:
    """A Paddle tensor has one entry; a torch tensor feeds one entry, or each chunk of one split once."""
    paddle_seen: dict[str, int] = {}
    torch_seen: dict[str, tuple[int, Split | None]] = {}
    for i, entry in enumerate(entries):
        if entry.paddle_name in paddle_seen:
            raise MappingError(
                f"{source}: entries[{i}]: paddle_name '{entry.paddle_name}' is already used by "
                f"entries[{paddle_seen[entry.paddle_name]}]"
            )
        paddle_seen[entry.paddle_name] = i
        field_name = "torch_name" if entry.concat is None else "concat.torch_names"
        for name in entry.sources:
            if name in torch_seen:
                first, split = torch_seen[name]
                if not _other_chunk(split, entry.split):
                    how = "" if split is None or entry.split is None else " (the same chunk, or another split)"
                    raise MappingError(
                        f"{source}: entries[{i}]: {field_name} '{name}' is already used by entries[{first}]{how}"
                    )
            torch_seen[name] = (i, entry.split)


def _other_chunk(first: Split | None, second: Split | None) -> bool:
    """True when two uses of one torch tensor are different chunks of the same split."""
    return (
        first is not None
        and second is not None
        and (first.axis, first.parts) == (second.axis, second.parts)
        and first.index != second.index
    )


_ENTRY_FIELDS = frozenset(
    {"torch_name", "paddle_name", "torch_shape", "paddle_shape", "transpose", "how", "split", "concat"}
)


def _entry_from_json(raw: Any, where: str) -> MappingEntry:
    if not isinstance(raw, dict):
        raise MappingError(f'{where}: expected an object with "torch_name" (or "concat") and "paddle_name"')
    concat = _concat_from_json(raw, where)
    keys = ("paddle_name",) if concat is not None else ("torch_name", "paddle_name")
    for key in keys:
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise MappingError(f'{where}: "{key}" must be a non-empty string, got {raw.get(key)!r}')
    torch_name = concat.label if concat is not None else raw["torch_name"]
    where = f"{where} (torch '{torch_name}')"
    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        raise MappingError(f"{where}: unknown field(s) {sorted(unknown)}")
    split = _split_from_json(raw.get("split"), f"{where}: split")
    if split is not None and concat is not None:
        raise MappingError(f'{where}: an entry takes "split" or "concat", not both')
    transpose = raw.get("transpose")
    if transpose is not None and not isinstance(transpose, bool):
        raise MappingError(f'{where}: "transpose" must be true, false or absent, got {transpose!r}')
    how = raw.get("how", "file")
    if how not in HOW_VALUES:
        raise MappingError(f'{where}: "how" must be one of {list(HOW_VALUES)}, got {how!r}')
    return MappingEntry(
        torch_name,
        raw["paddle_name"],
        _shape_from_json(raw.get("torch_shape"), f"{where}: torch_shape"),
        _shape_from_json(raw.get("paddle_shape"), f"{where}: paddle_shape"),
        transpose,
        how,
        split,
        concat,
    )


def _split_from_json(raw: Any, where: str) -> Split | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"axis", "index", "parts"}:
        raise MappingError(f'{where}: expected {{"axis": int, "index": int, "parts": int}}, got {raw!r}')
    for key in ("axis", "index", "parts"):
        if not _is_int(raw[key]):
            raise MappingError(f"{where}.{key}: expected an integer, got {raw[key]!r}")
    if raw["parts"] < 2:
        raise MappingError(f"{where}.parts: a split needs at least 2 parts, got {raw['parts']}")
    if not 0 <= raw["index"] < raw["parts"]:
        raise MappingError(f"{where}.index: must be 0 to {raw['parts'] - 1} (parts {raw['parts']}), got {raw['index']}")
    return Split(raw["axis"], raw["index"], raw["parts"])


def _concat_from_json(raw: dict[str, Any], where: str) -> Concat | None:
    value = raw.get("concat")
    if value is None:
        return None
    if "torch_name" in raw:
        raise MappingError(f'{where}: a "concat" entry names its sources in concat.torch_names, not "torch_name"')
    if not isinstance(value, dict) or set(value) != {"torch_names", "axis"}:
        raise MappingError(f'{where}: concat: expected {{"torch_names": [str, ...], "axis": int}}, got {value!r}')
    names = value["torch_names"]
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n for n in names):
        raise MappingError(f"{where}: concat.torch_names: expected at least 2 non-empty strings, got {names!r}")
    if len(set(names)) != len(names):
        raise MappingError(f"{where}: concat.torch_names: names a tensor twice: {names!r}")
    if not _is_int(value["axis"]):
        raise MappingError(f"{where}: concat.axis: expected an integer, got {value['axis']!r}")
    return Concat(tuple(names), value["axis"])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry_to_json(entry: MappingEntry) -> dict[str, Any]:
    data: dict[str, Any] = {} if entry.concat is not None else {"torch_name": entry.torch_name}
    if entry.concat is not None:
        data["concat"] = {"torch_names": list(entry.concat.torch_names), "axis": entry.concat.axis}
    data.update(
        paddle_name=entry.paddle_name,
        torch_shape=_shape_to_json(entry.torch_shape),
        paddle_shape=_shape_to_json(entry.paddle_shape),
        transpose=entry.transpose,
        how=entry.how,
    )
    if entry.split is not None:
        data["split"] = {"axis": entry.split.axis, "index": entry.split.index, "parts": entry.split.parts}
    return data


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
    if not isinstance(raw, list) or not all(_is_int(d) for d in raw):
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
