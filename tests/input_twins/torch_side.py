"""The PyTorch reference of the input twins."""

from __future__ import annotations

import torch
from torch import nn


class TinyTextClassifier(nn.Module):
    def __init__(self, vocab: int = 50, hidden: int = 8, classes: int = 3, returns: str = "tensor") -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden, padding_idx=0)
        self.head = nn.Linear(hidden, classes)
        self.returns = returns

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.head(pooled)
        if self.returns == "dict":  # like a ModelOutput: logits first, then what else it keeps
            return {"logits": logits, "pooled": pooled, "past_key_values": (pooled, pooled)}
        return logits


def build(**kwargs: object) -> TinyTextClassifier:
    return TinyTextClassifier(**kwargs)  # type: ignore[arg-type]


def tokens(sample: object, length: int = 6) -> tuple[list[int], list[int]]:
    """Word ids in [1, 50) by a fixed rule, padded to `length`: both sides' pipelines share the rule."""
    text = sample["text"] if isinstance(sample, dict) else str(sample)
    ids = [1 + sum(map(ord, word)) % 49 for word in text.lower().split()][:length]
    return ids + [0] * (length - len(ids)), [1] * len(ids) + [0] * (length - len(ids))


class TextDataset(torch.utils.data.Dataset):
    """A sentence (tsv) or a record with a "text" field (jsonl) as the two named inputs."""

    def __init__(self, samples: list) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[dict, int]:
        ids, mask = tokens(self.samples[index][0])
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}, self.samples[index][1]


def build_dataset(samples: list) -> TextDataset:
    return TextDataset(samples)
