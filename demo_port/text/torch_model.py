"""The text demo's reference model: a small Transformer-encoder sentence classifier in PyTorch.

Token + position embeddings, two pre-norm self-attention blocks, a final LayerNorm, a mean over the real
(unpadded) tokens and a linear head. The attention is written out with four Linear layers rather than
`nn.MultiheadAttention`, whose fused `in_proj_weight` has no one-to-one Paddle twin: the demo is about the
checks, and a porter reads every line of it. LayerNorm uses BERT's epsilon (1e-12), not the frameworks'
default (1e-5), so a twin that forgets to pass it is a real, catchable mistake; the embeddings start at
BERT's scale (std 0.02), where that epsilon matters.

`forward(input_ids, attention_mask)`: int64 [B, L] each, mask 1 = a real token, 0 = padding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LN_EPSILON = 1e-12
MASKED = -1e9  # added to the scores of padded keys: exp() of it is exactly 0, and a row never turns NaN


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention over the unpadded keys."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        head_dim = dim // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:  # [B, L, D] -> [B, H, L, D/H]
            return t.reshape(batch, length, self.heads, head_dim).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
        scores = scores + (1.0 - keep[:, None, None, :]) * MASKED  # keep: [B, L] float, 1 = attend
        context = torch.softmax(scores, dim=-1) @ v
        return self.out(context.transpose(1, 2).reshape(batch, length, dim))


class EncoderBlock(nn.Module):
    """Pre-norm Transformer block: x + attention(LN(x)), then x + FFN(LN(x)) with an exact GELU."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPSILON)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPSILON)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), keep))
        return x + self.dropout(self.ffn(self.norm2(x)))


class TextClassifier(nn.Module):
    """Embeddings -> encoder blocks -> LayerNorm -> masked mean -> head."""

    def __init__(
        self,
        vocab_size: int = 200,
        num_classes: int = 3,
        dim: int = 32,
        heads: int = 4,
        ffn_dim: int = 64,
        layers: int = 2,
        max_length: int = 16,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.position = nn.Embedding(max_length, dim)
        self.blocks = nn.ModuleList([EncoderBlock(dim, heads, ffn_dim, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim, eps=LN_EPSILON)
        self.head = nn.Linear(dim, num_classes)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        """Seeded by the caller: embeddings at BERT's scale (normal, std 0.02; the padding row stays zero),
        Linear layers Xavier with zero biases, so the logits are far from zero after a few steps."""
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, 0.02)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        self.embed.weight[0].zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed(input_ids) + self.position(positions)[None]
        keep = attention_mask.to(x.dtype)  # the model's dtype, so a float64 replay stays float64
        for block in self.blocks:
            x = block(x, keep)
        x = self.norm(x)
        pooled = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1.0)
        return self.head(pooled)


def text_classifier(vocab_size: int = 200, num_classes: int = 3, dropout: float = 0.1) -> nn.Module:
    """Build the reference classifier; call `torch.manual_seed` first for reproducible weights."""
    return TextClassifier(vocab_size=vocab_size, num_classes=num_classes, dropout=dropout)
