"""An LSTM classifier over token ids; the last hidden state is flattened with view."""

import torch
import torch.nn as nn


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size=50, dim=8, hidden=16, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, ids):
        x = self.embedding(ids)
        out, (h, c) = self.lstm(x)
        h = h.view(h.size(1), -1)  # [batch, hidden]
        return self.fc(torch.relu(h))


def build_model():
    return LSTMClassifier()
