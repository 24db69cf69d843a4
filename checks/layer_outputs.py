"""Layer inputs and outputs of either framework, handled alike: no framework is imported here.

Hooks see whatever a layer returns: a tensor, or a tuple or dict of them from a multi-output layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def first_tensor(value: Any) -> Any:
    """The first tensor of a layer's output (tuples and dicts from multi-output layers)."""
    if isinstance(value, (list, tuple)):
        return first_tensor(value[0]) if value else None
    if isinstance(value, dict):
        return first_tensor(next(iter(value.values()))) if value else None
    return value


def detached_copy(value: Any) -> Any:
    """A detached copy of a tensor (torch or paddle); anything else as is."""
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone()
    return value


def numpy_copy(value: Any) -> Any:
    """A numpy copy of (the first tensor of) a tensor of either framework; anything else as is."""
    value = first_tensor(value)
    return np.array(value.detach().cpu().numpy()) if hasattr(value, "detach") else value


def shape_of(value: Any) -> tuple[int, ...]:
    """A tensor's shape as a tuple of ints, in either framework."""
    return tuple(int(d) for d in value.shape)
