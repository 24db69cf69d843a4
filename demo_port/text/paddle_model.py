"""The text demo's Paddle twin of `demo_port.text.torch_model`: same structure, same parameter names.

Every layer keeps the reference's name, so a torch checkpoint converts by name alone; `paddle.nn.Linear`
stores `[in, out]`, and the conversion transposes by layer type. The keyword arguments beyond the model's
own exist to build *faulty twins* with real porting mistakes; the defaults are the faithful port:

- `ln_epsilon`: Paddle's LayerNorm default is 1e-5; the reference uses BERT's 1e-12.
- `gelu_approximate`: the tanh approximation instead of the reference's exact (erf) GELU.
- `invert_mask`: the mask read as 1 = padding, as a port mixing up torch's `key_padding_mask`
  (True = ignore) with Paddle's `attn_mask` (True = keep) would.
"""

from __future__ import annotations

import math

import paddle
from paddle import nn

LN_EPSILON = 1e-12
MASKED = -1e9  # added to the scores of padded keys: exp() of it is exactly 0, and a row never turns NaN


def _bert_normal() -> paddle.ParamAttr:
    return paddle.ParamAttr(initializer=nn.initializer.Normal(0.0, 0.02))


class SelfAttention(nn.Layer):
    """Multi-head scaled dot-product self-attention over the unpadded keys."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: paddle.Tensor, keep: paddle.Tensor) -> paddle.Tensor:
        batch, length, dim = x.shape
        head_dim = dim // self.heads

        def split(t: paddle.Tensor) -> paddle.Tensor:  # [B, L, D] -> [B, H, L, D/H]
            return t.reshape([batch, length, self.heads, head_dim]).transpose([0, 2, 1, 3])

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = paddle.matmul(q, k, transpose_y=True) / math.sqrt(head_dim)
        scores = scores + (1.0 - keep[:, None, None, :]) * MASKED  # keep: [B, L] float, 1 = attend
        context = paddle.matmul(nn.functional.softmax(scores, axis=-1), v)
        return self.out(context.transpose([0, 2, 1, 3]).reshape([batch, length, dim]))


class EncoderBlock(nn.Layer):
    """Pre-norm Transformer block: x + attention(LN(x)), then x + FFN(LN(x))."""

    def __init__(
        self, dim: int, heads: int, ffn_dim: int, dropout: float, ln_epsilon: float, gelu_approximate: bool
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, epsilon=ln_epsilon)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, epsilon=ln_epsilon)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_dim), nn.GELU(approximate=gelu_approximate), nn.Linear(ffn_dim, dim)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: paddle.Tensor, keep: paddle.Tensor) -> paddle.Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), keep))
        return x + self.dropout(self.ffn(self.norm2(x)))


class TextClassifier(nn.Layer):
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
        ln_epsilon: float = LN_EPSILON,
        gelu_approximate: bool = False,
        invert_mask: bool = False,
    ) -> None:
        super().__init__()
        self.invert_mask = invert_mask
        # Paddle's padding_idx returns zeros for id 0 whatever the row holds; torch's returns the row, which
        # its init zeroes and training never updates: the same output either way.
        # The reference's init (normal, std 0.02); Paddle's default, XavierUniform, would differ. Linear layers
        # need nothing: the reference's xavier_uniform_ with zero biases is Paddle's default.
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0, weight_attr=_bert_normal())
        self.position = nn.Embedding(max_length, dim, weight_attr=_bert_normal())
        self.blocks = nn.LayerList(
            [EncoderBlock(dim, heads, ffn_dim, dropout, ln_epsilon, gelu_approximate) for _ in range(layers)]
        )
        self.norm = nn.LayerNorm(dim, epsilon=ln_epsilon)
        self.head = nn.Linear(dim, num_classes)  # stores [in, out]: a torch checkpoint needs the transpose

    def forward(self, input_ids: paddle.Tensor, attention_mask: paddle.Tensor) -> paddle.Tensor:
        positions = paddle.arange(input_ids.shape[1], dtype="int64")
        x = self.embed(input_ids) + self.position(positions).unsqueeze(0)
        keep = attention_mask.astype(x.dtype)  # the model's dtype, so a float64 replay stays float64
        if self.invert_mask:
            keep = 1.0 - keep
        for block in self.blocks:
            x = block(x, keep)
        x = self.norm(x)
        pooled = (x * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True).clip(min=1.0)
        return self.head(pooled)


def text_classifier(
    vocab_size: int = 200,
    num_classes: int = 3,
    dropout: float = 0.1,
    ln_epsilon: float = LN_EPSILON,
    gelu_approximate: bool = False,
    invert_mask: bool = False,
) -> nn.Layer:
    """Build the Paddle classifier; the defaults are the faithful twin of the reference's `text_classifier`."""
    return TextClassifier(
        vocab_size=vocab_size,
        num_classes=num_classes,
        dropout=dropout,
        ln_epsilon=ln_epsilon,
        gelu_approximate=gelu_approximate,
        invert_mask=invert_mask,
    )
