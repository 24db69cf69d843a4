"""A TransformerEncoder over token ids with a padding mask, plus a small MaxPool2d head."""

import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, vocab_size=60, dim=16, heads=2, layers=2, num_classes=4):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=32, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers)
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.fc = nn.Linear(dim // 2, num_classes)

    def forward(self, ids):
        padding = ids == 0  # True where padded (torch: True = ignore)
        x = self.embedding(ids)
        x = self.encoder(x, src_key_padding_mask=padding)
        x = self.pool(x.unsqueeze(1)).squeeze(1)  # [batch, seq/2, dim/2]
        return self.fc(x.mean(dim=1))


def build_model():
    return Encoder()
