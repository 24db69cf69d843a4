"""Reading one feature sequence, shared by both data pipelines (numpy only, no framework).

`np.load(allow_pickle=False)`: a data file is data, never code. Shorter sequences are zero-padded at the
end and longer ones cut, so both pipelines hand the model the same fixed [T, F].
"""

from __future__ import annotations

import numpy as np

LENGTH = 12


def read_sequence(path: str, length: int = LENGTH) -> np.ndarray:
    """A float32 [length, F] array from a [T, F] `.npy` file."""
    array = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a [T, F] array, got shape {array.shape}")
    out = np.zeros((length, array.shape[1]), dtype=np.float32)
    out[: min(length, len(array))] = array[:length]
    return out
