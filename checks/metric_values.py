"""What a porter's metric returns, as named numbers: the metric step accepts any shape of answer.

A dict, a list or tuple (named by `metric_keys`, else metric_0, metric_1, ...), a scalar, numpy values or
either framework's tensors: each becomes one float, and anything that is not one number is named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from paddle_port_checks.outputs import to_numpy


class MetricError(ValueError):
    """A metric that cannot apply to this model's outputs, or returns something that is not numbers."""


def metric_values(value: Any, keys: Sequence[str], key: str) -> dict[str, float]:
    """Whatever a metric returns (a dict, a list or tuple, a scalar, numpy or framework tensors) as named
    numbers: a list is named by `metric_keys`, else metric_0, metric_1, ..."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        names = list(keys) if keys else [f"metric_{index}" for index in range(len(value))]
        if len(names) != len(value):
            raise MetricError(f"[{key}.metric_keys] names {len(names)} values but the metric returns {len(value)}")
        items = list(zip(names, value, strict=True))
    else:
        items = [(keys[0] if keys else "metric", value)]
    numbers = {}
    for name, item in items:
        try:
            array = np.asarray(to_numpy(item), dtype=np.float64)
        except (TypeError, ValueError):
            raise MetricError(f"[{key}.metric] '{name}' is not a number: {item!r}") from None
        if array.size != 1:
            raise MetricError(f"[{key}.metric] '{name}' is not one number (shape {list(array.shape)})")
        numbers[str(name)] = float(array.reshape(-1)[0])
    return numbers
