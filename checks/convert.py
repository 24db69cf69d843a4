"""PyTorch checkpoint -> Paddle state dict, with a report that leaves nothing half-loaded unnoticed.

Conversion works on numpy arrays so the Paddle side can run from cached weights without importing
torch. Every tensor is accounted for: mapped (and whether it was transposed or reshaped), missing (a
Paddle tensor with no source), unexpected (a source tensor nobody used), or mismatched (both shapes
named). Loading checks what Paddle itself would only warn about: every Paddle parameter and buffer must
end up holding the value it was given.

An entry may take a chunk of a torch tensor (`split`, a fused q/k/v) or join several (`concat`), in torch's
layout, before the transpose its Paddle layer type asks for. A Paddle name that aliases another name of the
same tensor (an LSTM's `0.cell_fw.weight_ih` is its `weight_ih_l0`) is counted once, under the canonical
name; the converted state carries the alias too, with the same array, as `paddle.save` of the model would.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks.atomic import write_bytes_atomic
from paddle_port_checks.layer_kinds import paddle_transposed_names
from paddle_port_checks.mapping import build_mapping_from_state
from paddle_port_checks.mapping_file import Mapping, MappingEntry, Shape, UnmappedTensor
from paddle_port_checks.paddle_aliases import paddle_aliases


@dataclass(frozen=True)
class ConvertedTensor:
    torch_name: str
    paddle_name: str
    torch_shape: Shape
    paddle_shape: Shape
    how: str
    transposed: bool
    reshaped: bool
    piece: str = ""  # "part 2 of 3 along axis 0" / "3 tensors concatenated along axis 0"; "" for 1:1


@dataclass(frozen=True)
class ShapeMismatch:
    torch_name: str
    paddle_name: str
    torch_shape: Shape  # of the piece the entry takes, when it takes one
    paddle_shape: Shape
    transposed: bool
    piece: str = ""
    problem: str = ""  # a split or concat that cannot be done, in words

    def describe(self) -> str:
        if self.problem:
            return f"{self.torch_name} -> {self.paddle_name}: {self.problem}"
        layout = " after transpose" if self.transposed else ""
        piece = f" ({self.piece})" if self.piece else ""
        return (
            f"{self.torch_name} -> {self.paddle_name}: shape mismatch: torch {self.torch_shape}{piece}{layout} "
            f"vs paddle {self.paddle_shape}"
        )


@dataclass
class ConversionReport:
    """Every tensor of both sides, accounted for; `ok` only when nothing is missing, extra or misshapen."""

    mapped: list[ConvertedTensor] = field(default_factory=list)
    missing: list[UnmappedTensor] = field(default_factory=list)
    unexpected: list[UnmappedTensor] = field(default_factory=list)
    mismatched: list[ShapeMismatch] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Paddle alias name -> the canonical name of the same tensor (counted once, under the canonical name).
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def transposed(self) -> list[str]:
        return [t.paddle_name for t in self.mapped if t.transposed]

    @property
    def reshaped(self) -> list[str]:
        return [t.paddle_name for t in self.mapped if t.reshaped]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        lines = [
            f"weights: {'ok' if self.ok else 'NOT ok'}: {len(self.mapped)} mapped "
            f"({len(self.transposed)} transposed, {len(self.reshaped)} reshaped), "
            f"{len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} shape mismatches, "
            f"{len(self.dropped)} dropped"
            + (f", {len(self.aliases)} paddle aliases counted once" if self.aliases else "")
        ]
        lines += [f"  missing in checkpoint: {u.name} {u.shape}: {u.reason}" for u in self.missing]
        lines += [f"  unexpected in checkpoint: {u.name} {u.shape}: {u.reason}" for u in self.unexpected]
        lines += [f"  {m.describe()}" for m in self.mismatched]
        lines += [
            f"  reshaped: {t.torch_name} {t.torch_shape} -> {t.paddle_name} {t.paddle_shape}"
            for t in self.mapped
            if t.reshaped
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def convert_state_dict(
    torch_state: MappingABC[str, np.ndarray], paddle_model: Any, mapping: Mapping | None = None
) -> tuple[dict[str, np.ndarray], ConversionReport]:
    """Turn torch arrays into the Paddle model's state dict, and say what did not fit.

    Without a mapping, one is built from the checkpoint's names and shapes and the Paddle model (names
    first, then order and shape). Transposes follow the Paddle layer types; an entry from a hand-edited
    mapping file that sets `transpose` overrides that, with a warning when the two disagree.
    The arrays come out in the dtype of the Paddle tensor they are meant for.
    """
    paddle_state = paddle_model.state_dict()
    aliases = paddle_aliases(paddle_model)
    paddle_shapes = {name: tuple(int(d) for d in t.shape) for name, t in paddle_state.items() if name not in aliases}
    transposed_by_type = paddle_transposed_names(paddle_model)
    if mapping is None:
        mapping = build_mapping_from_state({k: tuple(v.shape) for k, v in torch_state.items()}, paddle_model)
    report = ConversionReport(dropped=[n for n in torch_state if n in set(mapping.dropped)], aliases=aliases)
    converted: dict[str, np.ndarray] = {}
    used_torch: set[str] = set(report.dropped)
    targeted: set[str] = set()

    for entry in mapping.entries:
        paddle_name = aliases.get(entry.paddle_name, entry.paddle_name)
        if paddle_name not in paddle_shapes:
            report.warnings.append(
                f"mapping entry {entry.torch_name} -> {entry.paddle_name}: the paddle model has no such tensor"
            )
            continue
        if paddle_name in targeted:
            report.warnings.append(
                f"mapping entry {entry.torch_name} -> {entry.paddle_name}: '{paddle_name}' (the same tensor) "
                "already has a value from an earlier entry; this one was skipped"
            )
            continue
        targeted.add(paddle_name)
        if any(name not in torch_state for name in entry.sources):
            continue  # reported below as missing, with this reason
        used_torch.update(entry.sources)
        source, problem = _take_piece(entry, [np.asarray(torch_state[name]) for name in entry.sources])
        target_shape = paddle_shapes[paddle_name]
        transpose = _decide_transpose(entry, paddle_name in transposed_by_type, report)
        array = np.ascontiguousarray(source.T) if transpose and source.ndim == 2 else source
        reshaped = False
        if problem or array.shape != target_shape:
            if problem or _squeezed(array.shape) != _squeezed(target_shape):
                report.mismatched.append(
                    ShapeMismatch(
                        entry.torch_name,
                        paddle_name,
                        source.shape,
                        target_shape,
                        transpose,
                        entry.describe_piece(),
                        problem,
                    )
                )
                continue
            array, reshaped = array.reshape(target_shape), True
        converted[paddle_name] = array.astype(_numpy_dtype(paddle_state[paddle_name]), copy=False)
        report.mapped.append(
            ConvertedTensor(
                entry.torch_name,
                paddle_name,
                source.shape,
                target_shape,
                entry.how,
                transpose,
                reshaped,
                entry.describe_piece(),
            )
        )

    _account_for_the_rest(report, mapping, torch_state, paddle_shapes, converted, used_torch)
    converted.update({alias: converted[name] for alias, name in aliases.items() if name in converted})
    return converted, report


def _take_piece(entry: MappingEntry, sources: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """The torch-layout array the entry hands on (a chunk, the join, or the tensor), and what went wrong."""
    first = sources[0]
    if entry.split is not None:
        axis, parts = entry.split.axis, entry.split.parts
        if not -first.ndim <= axis < first.ndim:
            return first, f"cannot split a tensor of shape {first.shape} along axis {axis}"
        if first.shape[axis] % parts:
            return first, f"cannot split axis {axis} of shape {first.shape} into {parts} equal parts"
        return np.split(first, parts, axis=axis)[entry.split.index], ""
    if entry.concat is not None:
        try:
            return np.concatenate(sources, axis=entry.concat.axis), ""
        except (ValueError, np.exceptions.AxisError):
            shapes = ", ".join(str(s.shape) for s in sources)
            return first, f"cannot concatenate shapes {shapes} along axis {entry.concat.axis}"
    return first, ""


def _decide_transpose(entry: MappingEntry, by_type: bool, report: ConversionReport) -> bool:
    if entry.how != "file" or entry.transpose is None:
        return by_type
    if entry.transpose != by_type:
        layout = "[in, out] (paddle.nn.Linear)" if by_type else "torch's layout"
        report.warnings.append(
            f"mapping file sets transpose={str(entry.transpose).lower()} for {entry.paddle_name}, "
            f"whose layer type stores {layout}; the file's choice was used"
        )
    return entry.transpose


def _account_for_the_rest(
    report: ConversionReport,
    mapping: Mapping,
    torch_state: MappingABC[str, np.ndarray],
    paddle_shapes: dict[str, Shape],
    converted: dict[str, np.ndarray],
    used_torch: set[str],
) -> None:
    """Name every Paddle tensor left without a value and every checkpoint tensor left unused."""
    mismatched_paddle = {m.paddle_name for m in report.mismatched}
    paddle_reasons = {u.name: u.reason for u in mapping.unmapped_paddle}
    entry_of: dict[str, MappingEntry] = {}
    for entry in mapping.entries:
        entry_of.setdefault(report.aliases.get(entry.paddle_name, entry.paddle_name), entry)
    for name, shape in paddle_shapes.items():
        if name in converted or name in mismatched_paddle:
            continue
        source_entry = entry_of.get(name)
        if source_entry is not None:
            reason = _lacking_source(source_entry, torch_state)
        else:
            reason = paddle_reasons.get(name, "no torch tensor is mapped to it")
        report.missing.append(UnmappedTensor(name, shape, reason))
    torch_reasons = {u.name: u.reason for u in mapping.unmapped_torch}
    for name, array in torch_state.items():
        if name not in used_torch:
            reason = torch_reasons.get(name, "no paddle tensor is mapped from it")
            report.unexpected.append(UnmappedTensor(name, tuple(np.shape(array)), reason))


def _lacking_source(entry: MappingEntry, torch_state: MappingABC[str, np.ndarray]) -> str:
    """Why a mapped Paddle tensor got no value: the torch tensor(s) its entry reads are not in the checkpoint."""
    piece = f" ({entry.describe_piece()})" if entry.describe_piece() else ""
    if entry.concat is None:
        return f"the mapping takes it from torch '{entry.torch_name}'{piece}, which the checkpoint lacks"
    sources = " + ".join(f"'{name}'" for name in entry.sources)
    lacking = ", ".join(f"'{name}'" for name in entry.sources if name not in torch_state)
    return f"the mapping takes it from torch {sources}{piece}; the checkpoint lacks {lacking}"


def _squeezed(shape: Shape) -> Shape:
    return tuple(d for d in shape if d != 1)


def _numpy_dtype(paddle_tensor: Any) -> np.dtype:
    """numpy's name for a Paddle dtype ('paddle.float32' -> float32); bfloat16 has none, kept as float32."""
    name = str(paddle_tensor.dtype).removeprefix("paddle.")
    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# Files


def torch_state_to_numpy(state_dict: MappingABC[str, Any]) -> dict[str, np.ndarray]:
    """Detach every tensor to a CPU numpy array (bfloat16, which numpy lacks, becomes float32)."""
    import torch

    arrays = {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state dict entry '{name}' is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach().cpu()
        arrays[name] = (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
    return arrays


def load_torch_checkpoint(path: str | Path, warn: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Read a torch checkpoint safely (weights_only, see `safe_load`) as numpy arrays.

    Accepts a bare state dict or one wrapped as {"state_dict": ...} / {"model_state_dict": ...} /
    {"model": ...} beside other entries (`args`, `epoch`, the optimizer), and strips the "module." prefix
    that DataParallel adds to every name; `warn` is told of each.
    """
    import torch

    from paddle_port_checks.safe_load import load_torch_file, unwrap_state_dict

    path = Path(path)
    state = unwrap_state_dict(load_torch_file(path), path, lambda value: isinstance(value, torch.Tensor), warn)
    return torch_state_to_numpy(state)


def save_pdparams(state: MappingABC[str, np.ndarray], path: str | Path) -> None:
    """Save numpy arrays as a `.pdparams` file (paddle.save of Paddle tensors), atomically."""
    import paddle

    buffer = io.BytesIO()
    paddle.save({name: paddle.to_tensor(array) for name, array in state.items()}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


# ----------------------------------------------------------------------------------------------------------
# Loading into Paddle


@dataclass
class LoadReport:
    """What loading did: our own accounting, what Paddle said, and which tensors did not take the value."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    not_assigned: list[str] = field(default_factory=list)
    paddle_missing: list[str] = field(default_factory=list)
    paddle_unexpected: list[str] = field(default_factory=list)
    loaded: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.unexpected
            or self.mismatched
            or self.not_assigned
            or self.paddle_missing
            or self.paddle_unexpected
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        lines = [f"load: {'ok' if self.ok else 'NOT ok'}: {self.loaded} tensors loaded and verified"]
        for label in (
            "missing",
            "unexpected",
            "mismatched",
            "not_assigned",
            "paddle_missing",
            "paddle_unexpected",
        ):
            names = getattr(self, label)
            if names:
                lines.append(f"  {label.replace('_', ' ')} ({len(names)}): {', '.join(names)}")
        return "\n".join(lines)


def load_into_paddle(paddle_model: Any, state: MappingABC[str, np.ndarray]) -> LoadReport:
    """set_state_dict, then prove it: every Paddle parameter and buffer must now hold the given value.

    Paddle's set_state_dict only warns about missing, unexpected or misshapen tensors, so a model can
    come out half-loaded; here each of those is named, and every tensor is read back and compared.
    A tensor with several names (see ``paddle_aliases``) is set once, from whichever of its names the state
    gives; two names given different values is a mismatch.
    """
    expected = paddle_model.state_dict()
    aliases = paddle_aliases(paddle_model)
    given = dict(state)
    report = LoadReport(unexpected=[name for name in given if name not in expected])
    for alias, canonical in aliases.items():
        if alias not in given:
            continue
        if canonical not in given:
            given[canonical] = given[alias]
        elif not np.array_equal(np.asarray(given[alias]), np.asarray(given[canonical]), equal_nan=True):
            report.mismatched.append(f"{alias}: given another value than '{canonical}', the same tensor")
    report.missing = [name for name in expected if name not in aliases and name not in given]
    loadable: dict[str, np.ndarray] = {}
    for name, tensor in expected.items():
        if name in aliases or name not in given:
            continue
        array = np.asarray(given[name])
        if array.shape != tuple(tensor.shape):
            report.mismatched.append(f"{name}: given {array.shape} vs paddle {tuple(tensor.shape)}")
            continue
        loadable[name] = array.astype(_numpy_dtype(tensor), copy=False)
    with warnings.catch_warnings():
        # Paddle warns "Skip loading for <alias>": the alias is the tensor just set under its canonical name.
        for alias in aliases:
            warnings.filterwarnings("ignore", message=f"Skip loading for {re.escape(alias)}\\.")
        paddle_missing, paddle_unexpected = paddle_model.set_state_dict(loadable)
    report.paddle_missing = [n for n in paddle_missing if n in loadable]
    report.paddle_unexpected = list(paddle_unexpected)
    after = paddle_model.state_dict()
    for name, array in loadable.items():
        if np.array_equal(after[name].numpy(), array, equal_nan=True):
            report.loaded += 1
        else:
            report.not_assigned.append(name)
    report.not_assigned += [
        alias
        for alias, canonical in aliases.items()
        if canonical in loadable and not np.array_equal(after[alias].numpy(), loadable[canonical], equal_nan=True)
    ]
    return report
