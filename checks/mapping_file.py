"""The weight mapping as a record, and the editable JSON file it is saved to and loaded from.

Which torch tensor becomes which Paddle tensor, how each pairing was found, and what could not be paired
and why; written and read by the same code. In the file `transpose` may be left out (the Paddle layer type
decides when converting); an entry written or changed by hand should drop `how` or set it to "file", which
also makes its `transpose`, when given, override the layer type.
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
        """The file's content (see mapping_from_json for the way back)."""
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
            f"  shape mismatch {e.torch_name} {fmt_shape(e.torch_shape)} -> {e.paddle_name} "
            f"{fmt_shape(e.paddle_shape)}{' (transposed)' if e.transpose else ''}"
            for e in self.entries
            if e.torch_shape is not None
            and e.paddle_shape is not None
            and paddle_shape(e.torch_shape, bool(e.transpose)) != e.paddle_shape
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
