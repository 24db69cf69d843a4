"""The Paddle twin: `faithful` passes torch's init as initializers; `defaults` plants the porting bug of leaving
every layer on Paddle's defaults (XavierUniform Linear and Embedding, Normal conv, zero biases)."""

from __future__ import annotations

import math

import paddle
from paddle import nn


def _kaiming() -> paddle.ParamAttr:
    """torch's kaiming_uniform_(a=sqrt(5)) in Paddle: U(+-1/sqrt(fan_in))."""
    return paddle.ParamAttr(
        initializer=nn.initializer.KaimingUniform(negative_slope=math.sqrt(5), nonlinearity="leaky_relu")
    )


def _uniform(fan_in: int) -> paddle.ParamAttr:
    bound = 1 / math.sqrt(fan_in)
    return paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound))


class Tagger(nn.Layer):
    def __init__(self, faithful: bool) -> None:
        super().__init__()
        like = (lambda attr: attr) if faithful else (lambda attr: None)
        self.embed = nn.Embedding(64, 16, weight_attr=like(paddle.ParamAttr(initializer=nn.initializer.Normal(0, 1))))
        self.conv = nn.Conv1D(16, 16, 3, padding=1, weight_attr=like(_kaiming()), bias_attr=like(_uniform(48)))
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 10, weight_attr=like(_kaiming()), bias_attr=like(_uniform(16)))

    def forward(self, ids):  # type: ignore[no-untyped-def]
        x = self.conv(self.embed(ids).transpose([0, 2, 1])).transpose([0, 2, 1])
        return self.head(self.norm(x)).mean(1)


def faithful() -> nn.Layer:
    return Tagger(faithful=True)


def defaults() -> nn.Layer:
    return Tagger(faithful=False)
