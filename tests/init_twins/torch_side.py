"""The reference: torch's default init everywhere (seeded by the step, no checkpoint)."""

from __future__ import annotations

from torch import nn


class Tagger(nn.Module):
    """Embedding, conv, LayerNorm and a Linear head: every layer kind whose defaults differ, and one that agrees."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(64, 16)
        self.conv = nn.Conv1d(16, 16, 3, padding=1)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 10)

    def forward(self, ids):  # type: ignore[no-untyped-def]
        x = self.conv(self.embed(ids).transpose(1, 2)).transpose(1, 2)
        return self.head(self.norm(x)).mean(1)


def tagger() -> nn.Module:
    return Tagger()
