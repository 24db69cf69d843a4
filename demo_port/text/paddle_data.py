"""The text demo's Paddle data pipeline: the twin of `demo_port.text.torch_data`, on the same tokenizer.

Items are `({"input_ids": int64 [L], "attention_mask": int64 [L]}, label)` as numpy arrays: Paddle's
DataLoader batches a dict key by key, and workers never hand Paddle Tensors across processes.
"""

from __future__ import annotations

import numpy as np
from paddle.io import Dataset

from demo_port.text.tokenizer import MAX_LENGTH, encode, read_sentence


class SentenceDataset(Dataset):
    """(sentence file, label) pairs, tokenised on access."""

    def __init__(self, samples: list[tuple[str, int]], max_length: int) -> None:
        super().__init__()
        self.samples = list(samples)
        self.max_length = max_length

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray], int]:
        path, label = self.samples[index]
        input_ids, attention_mask = encode(read_sentence(path), self.max_length)
        return {"input_ids": input_ids, "attention_mask": attention_mask}, int(label)


def build_dataset(samples: list[tuple[str, int]], max_length: int = MAX_LENGTH) -> Dataset:
    """The Paddle dataset over `samples` (paths absolute or relative to the working directory)."""
    return SentenceDataset(samples, max_length)
