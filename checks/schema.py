"""The records that cross a process boundary, typed and versioned: a step's result and its live events.

A check script writes `result/<step>.json` and emits events; the app reads them. Both sides use these
classes, so a field is declared once and the app never indexes a raw dict from a check. Every record
goes through one codec (`to_json` / `from_json`, driven by the dataclass fields), as Polygraphy's
results save and load as themselves. A document of a schema this version does not know is a
`SchemaError` that names the file and says what to do, never a KeyError three calls later.

Imports only the standard library: the app reads these records without numpy, torch or paddle.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

# Bump when a field changes meaning or a required field is added; readers accept READABLE_RESULTS.
RESULT_SCHEMA = 2
# Schema 1 (paddle-port 0.1.0) had the same fields, minus run_id: it reads as it is.
READABLE_RESULTS = (1, 2)
EVENT_SCHEMA = 1
STATUSES = ("passed", "failed", "error")

Record = TypeVar("Record")


class SchemaError(ValueError):
    """A record that this version cannot read: unknown schema, wrong type, missing field (named)."""


# --- the codec -------------------------------------------------------------------------------------------


def to_json(record: Any) -> Any:
    """A record (or a list/dict of them) as plain JSON types; non-finite floats become null."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_json(getattr(record, f.name)) for f in dataclasses.fields(record) if _written(f)}
    if isinstance(record, dict):
        return {str(key): to_json(value) for key, value in record.items()}
    if isinstance(record, (list, tuple)):
        return [to_json(item) for item in record]
    if isinstance(record, float) and not math.isfinite(record):
        return None
    if hasattr(record, "tolist") and hasattr(record, "dtype"):  # numpy scalars and arrays, without numpy
        return to_json(record.tolist())
    if isinstance(record, Path):
        return str(record)
    return record


def from_json(kind: type[Record], raw: Any, where: str = "") -> Record:
    """Build a `kind` record from parsed JSON, checking every field's type; unknown fields are ignored
    (a newer writer may add some), missing ones take their defaults or are named."""
    if not isinstance(raw, dict):
        raise SchemaError(f"{where or kind.__name__}: expected an object, got {type(raw).__name__}")
    hints = _hints(kind)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind):  # type: ignore[arg-type]
        if not _written(item):
            continue
        path = f"{where}.{item.name}" if where else item.name
        if item.name in raw:
            values[item.name] = _decode(hints[item.name], raw[item.name], path)
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            raise SchemaError(f"{path}: missing")
    return kind(**values)


def _written(item: dataclasses.Field[Any]) -> bool:
    """Fields marked `metadata={"json": False}` live only in the writing process."""
    return item.metadata.get("json", True) is not False


def _hints(kind: type) -> dict[str, Any]:
    cached = _HINTS.get(kind)
    if cached is None:
        cached = _HINTS[kind] = get_type_hints(kind)
    return cached


_HINTS: dict[type, dict[str, Any]] = {}


def _decode(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, value, where)
            except SchemaError as error:
                errors.append(str(error))
        raise SchemaError(errors[0] if len(errors) == 1 else f"{where}: unexpected {type(value).__name__}")
    if hint is Any:
        return value
    if origin is list:
        (item,) = get_args(hint)
        return [_decode(item, entry, f"{where}[{i}]") for i, entry in enumerate(_expect(value, list, where))]
    if origin is tuple:
        items = _expect(value, list, where)
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], entry, f"{where}[{i}]") for i, entry in enumerate(items))
        if len(args) != len(items):
            raise SchemaError(f"{where}: expected {len(args)} items, got {len(items)}")
        pairs = enumerate(zip(args, items, strict=True))
        return tuple(_decode(arg, entry, f"{where}[{i}]") for i, (arg, entry) in pairs)
    if origin is dict:
        key_type, value_type = get_args(hint)
        mapping = _expect(value, dict, where)
        return {key: _decode(value_type, entry, f"{where}.{key}") for key, entry in mapping.items()}
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, where)  # type: ignore[arg-type]
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"{where}: expected a number, got {type(value).__name__}")
        return float(value)
    if hint in (str, int, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise SchemaError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
        return value
    raise SchemaError(f"{where}: no decoder for {hint!r}")  # a schema bug, caught by the tests


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise SchemaError(f"{where}: expected {'a list' if kind is list else 'an object'}, got {type(value).__name__}")
    return value


# --- the result of a step ----------------------------------------------------------------------------------


@dataclass
class KeyDiff:
    """The comparison of one key, as `compare` makes it and `result/<step>.json` stores it."""

    key: str
    mean: float | None
    max: float | None
    min: float | None
    threshold: float
    method: str
    passed: bool
    shape_ref: tuple[int, ...] | None = None
    shape_paddle: tuple[int, ...] | None = None
    max_rel: float | None = None
    cosine: float | None = None
    within_tol: float | None = None
    worst_index: tuple[int, ...] | None = None
    min_passing_threshold: float | None = None
    problem: str | None = None
    # Single values (an accuracy, a class id, a length) as they are: "0.1667 vs 0.1667" says more than a diff.
    values: tuple[float, float] | None = None
    # The rule that decided, in words: "mean abs diff <= 1e-05", "|a-b| <= 1e-06 + 0.0001*|b|", "float64 replay".
    rule: str = ""
    # Float64 replay (forward outputs; backward keys that failed in float32): the same statistic with both
    # models in float64, the reference's own float32-vs-float64 discrepancy, and what the two say: "noise"
    # (the port computes the same function; float32 rounding) or "math differs" (it does not, whatever the
    # threshold says).
    float64_diff: float | None = None
    noise_floor: float | None = None
    noise_verdict: str = ""
    # Not written: the reference magnitude, for the near-zero warning on the writing side.
    ref_absmax: float | None = field(default=None, compare=False, metadata={"json": False})

    def to_json(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], to_json(self))

    @property
    def statistic(self) -> float | None:
        """The figure the key's method decides on: its max, its min, else its mean (also for "all")."""
        return {"max": self.max, "min": self.min}.get(self.method, self.mean)


@dataclass
class Finding:
    """One configuration mismatch between a torch layer and its Paddle twin (a pitfall lint finding)."""

    torch_layer: str
    paddle_layer: str
    torch_type: str
    paddle_type: str
    attribute: str
    torch_value: Any
    paddle_value: Any
    expected_paddle_value: Any
    why: str
    visible_in_eval: bool = True
    # "error": the setting changes what the model computes; "warning": invisible in eval mode (BatchNorm
    # momentum), so these checks pass and training-mode checks will not. Files written before it read as
    # what `visible_in_eval` says.
    severity: str = ""
    fix: str = ""  # the Paddle argument and value that match the reference: "paddle.nn.BatchNorm2D(momentum=0.9)"
    defined_at: str = ""  # "file:line" where the Paddle layer (or call) is written; "" when not found

    def __post_init__(self) -> None:
        if not self.severity:
            self.severity = "error" if self.visible_in_eval else "warning"

    def to_json(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], to_json(self))

    def describe(self) -> str:
        """One line for logs and tables."""
        seen = "" if self.visible_in_eval else " (invisible in eval mode)"
        return (
            f"{self.paddle_layer}.{self.attribute}: paddle {self.paddle_value!r}, expected "
            f"{self.expected_paddle_value!r} (torch {self.torch_layer} has {self.torch_value!r}){seen}: "
            f"{self.why}"
        )


@dataclass
class LayerPoint:
    """One paired layer along the depth: the points of the per-layer difference chart."""

    index: int
    reference: str
    paddle: str
    type: str
    mean: float | None
    rel: float | None
    diverged: bool = False
    problem: str | None = None


@dataclass
class Divergence:
    """Where the two models first part: the layer pair, its numbers and the verdict `layer` / `upstream`."""

    reference_layer: str
    paddle_layer: str
    reference_type: str
    paddle_type: str
    verdict: str
    location: str | None = None  # where functional code between layers diverges (verdict upstream)
    index: int | None = None
    reference_shape: list[int] | None = None
    paddle_shape: list[int] | None = None
    mean: float | None = None
    max: float | None = None
    rel: float | None = None
    problem: str | None = None
    reference_call: int | None = None
    paddle_call: int | None = None
    isolated: dict[str, Any] = field(default_factory=dict)
    lint: list[Finding] = field(default_factory=list)
    layers: list[LayerPoint] = field(default_factory=list)


@dataclass
class MappingRow:
    """One reference tensor and the Paddle tensor it was mapped to, and how the match was made."""

    torch: str
    paddle: str
    how: str  # name | structure | file
    transposed: bool


@dataclass
class WeightMapping:
    """The weights step's mapping, as the wizard shows it for review: the file and its rows."""

    file: str
    rows: list[MappingRow] = field(default_factory=list)


@dataclass
class ReferenceInfo:
    """Where a step's reference outputs came from: reused from the golden cache, or computed now."""

    reused: bool = False
    fingerprint: str = ""
    device: str = ""
    torch: str = ""
    computed_at: str = ""


@dataclass
class StepResult:
    """`result/<step>.json`: the verdict of one run of one step, with everything that explains it."""

    step: str
    status: str  # passed | failed | error
    schema: int = RESULT_SCHEMA
    keys: list[KeyDiff] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # relative to the workspace root
    log: str | None = None  # the reprod_log-style diff log, relative
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    started_at: str | None = None
    duration_s: float | None = None
    run_id: str | None = None  # the app's run that produced it, when the app ran it
    reference: ReferenceInfo | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    lint: list[Finding] = field(default_factory=list)
    first_divergence: Divergence | None = None
    mapping: WeightMapping | None = None
    # The step's own extras (conversion report, localisation summary): shown as JSON, never interpreted.
    details: dict[str, Any] = field(default_factory=dict)

    FILE_KIND: ClassVar[str] = "step result"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return typing.cast(dict[str, Any], to_json(self))

    @classmethod
    def from_json(cls, raw: Any, source: str = "result") -> StepResult:
        """Read a result document; `source` (a path) names it in every error."""
        version = raw.get("schema") if isinstance(raw, dict) else None
        if version not in READABLE_RESULTS:
            raise SchemaError(
                f"{source}: a {cls.FILE_KIND} of schema {version!r}; this paddle-port reads schema "
                f"{', '.join(map(str, READABLE_RESULTS))}: run the step again to rewrite it"
            )
        result = from_json(cls, raw, where=source)
        if result.status not in STATUSES:
            raise SchemaError(f"{source}.status: {result.status!r} is not one of {', '.join(STATUSES)}")
        result.schema = RESULT_SCHEMA
        return result


def read_result(path: Path) -> StepResult:
    """A result file; `SchemaError` (naming the file) when it is not a readable result, OSError when unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise SchemaError(f"{path}: not JSON ({error})") from None
    return StepResult.from_json(raw, str(path))


# --- live events -------------------------------------------------------------------------------------------


@dataclass
class Event:
    """One line on the event pipe. `kind` says which; the fields used depend on it (see EVENT_FIELDS)."""

    kind: str  # start | stage | key | warning | result
    step: str
    schema: int = EVENT_SCHEMA
    device: str | None = None  # start
    name: str | None = None  # stage: reference | lint | localize ...
    status: str | None = None  # stage: running | reused | computed; result: passed | failed | error
    diff: KeyDiff | None = None  # key
    message: str | None = None  # warning
    path: str | None = None  # result: the result file written

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in typing.cast(dict[str, Any], to_json(self)).items() if value is not None}

    @classmethod
    def from_json(cls, raw: Any) -> Event:
        version = raw.get("schema") if isinstance(raw, dict) else None
        if version != EVENT_SCHEMA:
            raise SchemaError(f"event of schema {version!r}; this paddle-port reads schema {EVENT_SCHEMA}")
        return from_json(cls, raw, where="event")


def parse_event(line: bytes | str) -> Event | None:
    """An event line as a record; None for a line that is not one of ours (a stray write to the pipe)."""
    try:
        return Event.from_json(json.loads(line))
    except (ValueError, SchemaError):
        return None
