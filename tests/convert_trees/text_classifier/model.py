"""Embedding + mean pooling + Linear classifier."""

import torch
import torch.nn as nn


class TextClassifier(nn.Module):
    def __init__(self, vocab_size=100, dim=16, num_classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, ids):
        x = self.embedding(ids)  # [batch, seq, dim]
        x = torch.mean(x, dim=1)
        return self.fc(x)


def build_model():
    torch.manual_seed(0)
    return TextClassifier()
