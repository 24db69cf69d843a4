"""The sequence demo's reference data pipeline: one `.npy` feature sequence per file, cut or padded to T.

Items are `(float32 [T, F], label)`. The fixed length makes every item the same shape, so a batch stacks
without a collate function on either side.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from demo_port.sequence.features import LENGTH, read_sequence


class SequenceDataset(Dataset):
    """(sequence file, label) pairs, read on access."""

    def __init__(self, samples: list[tuple[str, int]], length: int) -> None:
        self.samples = list(samples)
        self.length = length

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        return torch.from_numpy(read_sequence(path, self.length)), int(label)


def build_dataset(samples: list[tuple[str, int]], length: int = LENGTH) -> Dataset:
    """The reference dataset over `samples` (paths absolute or relative to the working directory)."""
    return SequenceDataset(samples, length)
