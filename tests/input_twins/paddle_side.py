"""The Paddle twin of the input twins."""

from __future__ import annotations

import numpy as np
import paddle
from paddle import nn


class TinyTextClassifier(nn.Layer):
    def __init__(
        self, vocab: int = 50, hidden: int = 8, classes: int = 3, returns: str = "tensor", mask_ignored: bool = False
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden, padding_idx=0)
        self.head = nn.Linear(hidden, classes)
        self.returns, self.mask_ignored = returns, mask_ignored

    def forward(self, input_ids: paddle.Tensor, attention_mask: paddle.Tensor) -> object:
        mask = attention_mask.unsqueeze(-1).astype("float32")
        if self.mask_ignored:  # the planted bug: padded positions count in the mean
            mask = paddle.ones_like(mask)
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clip(min=1.0)
        logits = self.head(pooled)
        if self.returns == "tuple":  # a library that returns a plain tuple where the reference has names
            return logits, pooled
        return logits


def build(**kwargs: object) -> TinyTextClassifier:
    return TinyTextClassifier(**kwargs)  # type: ignore[arg-type]


class TextDataset(paddle.io.Dataset):
    """The same pipeline in Paddle's terms (the tokenising rule is the reference's)."""

    def __init__(self, samples: list) -> None:
        super().__init__()
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[dict, int]:
        from input_twins.torch_side import tokens

        ids, mask = tokens(self.samples[index][0])
        return {
            "input_ids": np.array(ids, dtype="int64"),
            "attention_mask": np.array(mask, dtype="int64"),
        }, self.samples[index][1]


def build_dataset(samples: list) -> TextDataset:
    return TextDataset(samples)
