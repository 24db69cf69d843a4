"""Model outputs as the checks need them, whatever the model returns: a tensor, a tuple, a dict.

Detection and multi-head models return tuples or dicts; a check must compare all of them in step 1 and
take the logits from them in steps 3-5, instead of failing on `tuple has no attribute numpy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def to_numpy(tensor: Any) -> np.ndarray:
    """A torch or paddle tensor (or anything array-like) as a numpy array on the host."""
    if hasattr(tensor, "detach"):  # torch: leave the graph and the device first
        tensor = tensor.detach().cpu()
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)


def named_arrays(outputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Flatten `{key: tensor | tuple | list | dict}` into `{key: array}`, `key_0, key_1` or `key/name`."""
    arrays: dict[str, np.ndarray] = {}
    for key, value in outputs.items():
        if isinstance(value, Mapping):
            arrays.update(named_arrays({f"{key}/{name}": item for name, item in value.items()}))
        elif isinstance(value, (tuple, list)):
            arrays.update(named_arrays({f"{key}_{index}": item for index, item in enumerate(value)}))
        elif value is not None:
            arrays[key] = to_numpy(value)
    return arrays


def primary(output: Any) -> Any:
    """The logits of a model's output: the tensor itself, the first of a tuple, or a dict's "logits"."""
    if isinstance(output, Mapping):
        return output["logits"] if "logits" in output else next(iter(output.values()))
    if isinstance(output, (tuple, list)):
        return output[0]
    return output
