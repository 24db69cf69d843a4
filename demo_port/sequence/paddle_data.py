"""The sequence demo's Paddle data pipeline: the twin of `demo_port.sequence.torch_data`.

Items are `(float32 [T, F], label)` as numpy arrays: the DataLoader batches them, and workers never hand
Paddle Tensors across processes.
"""

from __future__ import annotations

import numpy as np
from paddle.io import Dataset

from demo_port.sequence.features import LENGTH, read_sequence


class SequenceDataset(Dataset):
    """(sequence file, label) pairs, read on access."""

    def __init__(self, samples: list[tuple[str, int]], length: int) -> None:
        super().__init__()
        self.samples = list(samples)
        self.length = length

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        path, label = self.samples[index]
        return read_sequence(path, self.length), int(label)


def build_dataset(samples: list[tuple[str, int]], length: int = LENGTH) -> Dataset:
    """The Paddle dataset over `samples` (paths absolute or relative to the working directory)."""
    return SequenceDataset(samples, length)
