"""The sequence demo's reference model: a 2-layer bidirectional LSTM, a GRU and a linear head, in PyTorch.

`forward(x)`: float32 [B, T, F] (batch first). The GRU reads the BiLSTM's [B, T, 2H] outputs and its final
hidden state is the sequence's summary. Recurrent layers are where ports go wrong silently: the layout flag
(torch `batch_first`, Paddle `time_major`), the order of the two directions, the gate order of the weights.
"""

from __future__ import annotations

import torch
from torch import nn


class SequenceClassifier(nn.Module):
    """BiLSTM (2 layers) -> GRU -> final hidden state -> Linear."""

    def __init__(self, features: int = 8, hidden: int = 16, num_classes: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(x)  # [B, T, 2H]: forward direction first, then backward
        _, last = self.gru(outputs)  # [1, B, H]
        return self.head(last[-1])


def sequence_classifier(features: int = 8, hidden: int = 16, num_classes: int = 3) -> nn.Module:
    """Build the reference classifier; call `torch.manual_seed` first for reproducible weights."""
    return SequenceClassifier(features, hidden, num_classes)
