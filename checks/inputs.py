"""The inputs a model is called with: one contract for every step that runs a model.

`[inputs.<name>]` tables are passed by name in declared order (`model(input_ids=..., attention_mask=...)`),
the `[input]` shorthand as one positional argument (`model(x)`). Values are seeded: floats from a normal
distribution, integers in [low, high) (an id outside the vocabulary is an IndexError in every Embedding,
so `standard_normal().astype(int64)` would never do), bools at random, or a constant `fill`; a `file`
always wins. Batches from a data pipeline are called the same way by their structure: a dict by name, a
tuple or list by position, a tensor as the one argument.
"""

from __future__ import annotations

import hashlib
import inspect
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from paddle_port_checks.atomic import write_bytes_atomic
from paddle_port_checks.config import Config, ConfigError, InputSpec
from paddle_port_checks.written import record_written


@dataclass(frozen=True)
class ModelInputs:
    """The fixed inputs of a run, as numpy arrays, and how the model takes them."""

    arrays: dict[str, np.ndarray]
    positional: bool

    @property
    def as_called(self) -> Any:
        """The inputs shaped as the model takes them: the one array, or a dict by name."""
        return self.first if self.positional else dict(self.arrays)

    def converted(self, convert: Callable[[np.ndarray], Any]) -> Any:
        """The inputs in a framework's tensors, shaped as the model takes them (one value, or a dict)."""
        return converted(self.as_called, convert)

    def digest(self) -> str:
        """The inputs' identity for the reference fingerprint: names, shapes, dtypes and bytes."""
        digest = hashlib.sha256()
        for name, array in self.arrays.items():
            digest.update(f"{name}{array.shape}{array.dtype}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    @property
    def first(self) -> np.ndarray:
        return next(iter(self.arrays.values()))


def converted(inputs: Any, convert: Callable[[Any], Any]) -> Any:
    """Inputs in a framework's tensors, keeping their structure: a dict by name, a tuple/list, or one array."""
    if isinstance(inputs, Mapping):
        return {name: convert(value) for name, value in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(convert(value) for value in inputs)
    return convert(inputs)


def call_model(model: Any, inputs: Any) -> Any:
    """Call a model the way its inputs are shaped: a dict by name, a tuple/list by position, else as one."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def fixed_inputs(config: Config) -> ModelInputs:
    """The configured inputs: each from its file, or made (seeded) and, for the `[input]` shorthand, kept in
    its file so the porter can replace it with a real image tensor; a porter's file is never overwritten."""
    rng = np.random.default_rng(config.seed)
    arrays = {spec.name: _one_input(config, spec, rng) for spec in config.inputs}
    return ModelInputs(arrays, positional=config.inputs[0].positional)


def _one_input(config: Config, spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    path = config.resolve(spec.file) if spec.file else None
    if path is not None and path.is_file():
        try:
            array: np.ndarray = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ConfigError(config.path, f"{spec.key}.file", f"cannot read {path} as a .npy array: {error}") from None
        if tuple(array.shape) != spec.shape:
            raise ConfigError(
                config.path,
                f"{spec.key}.shape",
                f"is {list(spec.shape)} but [{spec.key}] file {path} holds shape {list(array.shape)}: "
                "make them agree (or delete the file to have a seeded one made)",
            )
        return array.astype(spec.dtype, copy=False)
    array = _made(spec, rng)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, array)
        write_bytes_atomic(path, buffer.getvalue())
        record_written(config.root / "result", [path])
    return array


def _made(spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    if spec.fill is not None:
        return np.full(spec.shape, spec.fill, dtype=spec.dtype)
    if spec.dtype.startswith("int"):
        assert spec.high is not None  # the config requires it for a made integer input
        return rng.integers(spec.low, spec.high, size=spec.shape).astype(spec.dtype)
    if spec.dtype == "bool":
        return rng.random(spec.shape) < 0.5
    return rng.standard_normal(spec.shape).astype(spec.dtype)


def check_signature(model: Any, inputs: ModelInputs, config: Config, side: str) -> None:
    """A model that cannot take the configured inputs is a config error naming the parameter, before any
    step runs it (and before a real difference hides behind a TypeError)."""
    forward = getattr(model, "forward", model)
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return  # a builtin or C-implemented forward: let the call itself speak
    try:
        if inputs.positional:
            signature.bind(*inputs.arrays.values())
        else:
            signature.bind(**inputs.arrays)
    except TypeError as error:
        key = "input" if inputs.positional else "inputs"
        raise ConfigError(
            config.path,
            key,
            f"the {side} model's {type(model).__name__}.forward{signature} cannot take the configured inputs "
            f"({', '.join(inputs.arrays)}): {error}",
        ) from None
