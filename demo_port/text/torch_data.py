"""The text demo's reference data pipeline: one sentence per file, tokenised to fixed-length ids and mask.

Items are `({"input_ids": int64 [L], "attention_mask": int64 [L]}, label)`: the dict's keys are the
model's argument names, so a batch calls `model(**inputs)` on either side.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from demo_port.text.tokenizer import MAX_LENGTH, encode, read_sentence


class SentenceDataset(Dataset):
    """(sentence file, label) pairs, tokenised on access."""

    def __init__(self, samples: list[tuple[str, int]], max_length: int) -> None:
        self.samples = list(samples)
        self.max_length = max_length

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[dict[str, torch.Tensor], int]:
        path, label = self.samples[index]
        input_ids, attention_mask = encode(read_sentence(path), self.max_length)
        inputs = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention_mask)}
        return inputs, int(label)


def build_dataset(samples: list[tuple[str, int]], max_length: int = MAX_LENGTH) -> Dataset:
    """The reference dataset over `samples` (paths absolute or relative to the working directory)."""
    return SentenceDataset(samples, max_length)
