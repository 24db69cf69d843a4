"""Torch/Paddle twin pairs, one per common layer that owns weights, for the weight-mapping tests.

Each `LayerTwin` holds a torch model, its Paddle twin written by hand, and an input: both models return
one tensor, both are in eval mode with dropout 0, and the torch side's floating tensors are redrawn from a
seeded normal (a fresh LayerNorm has weight 1 and bias 0, which would hide a swap). The Paddle side sits
one level deeper (`body.<layer>` against torch's `0`), so no name is shared and the mapping must pair by
structure, except where a twin keeps torch's names on purpose (`same_names`).

Import from a test module as `from layer_twins import ...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import paddle
import torch
from twins import run_paddle, run_torch

__all__ = ["TWINS", "LayerTwin", "run_paddle", "run_torch"]

SEED = 7


@dataclass
class LayerTwin:
    name: str
    torch_model: torch.nn.Module
    paddle_model: paddle.nn.Layer
    x: np.ndarray


def randomized(model: torch.nn.Module, seed: int = SEED) -> torch.nn.Module:
    """Redraw every floating tensor (padding rows of an Embedding stay zero, as torch keeps them)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5)
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
    return model.eval()


def floats(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# Wrappers: torch `Sequential(layer)` names its tensors `0.*`; the Paddle side nests its layer as `body.*`


class PaddleNest(paddle.nn.Layer):
    def __init__(self, layer: paddle.nn.Layer, call: Callable[[paddle.nn.Layer, Any], Any] | None = None):
        super().__init__()
        self.body = layer
        self._call = call

    def forward(self, x: Any) -> Any:
        return self.body(x) if self._call is None else self._call(self.body, x)


class TorchWrap(torch.nn.Module):
    def __init__(self, layer: torch.nn.Module, call: Callable[[torch.nn.Module, Any], Any]):
        super().__init__()
        self.add_module("0", layer)
        self._call = call

    def forward(self, x: Any) -> Any:
        return self._call(self._modules["0"], x)


def _pair(
    name: str,
    torch_layer: torch.nn.Module,
    paddle_layer: paddle.nn.Layer,
    x: np.ndarray,
    torch_call: Callable[[torch.nn.Module, Any], Any] | None = None,
    paddle_call: Callable[[paddle.nn.Layer, Any], Any] | None = None,
) -> LayerTwin:
    torch.manual_seed(SEED)
    paddle.seed(SEED)
    torch_model = torch.nn.Sequential(torch_layer) if torch_call is None else TorchWrap(torch_layer, torch_call)
    paddle_model = PaddleNest(paddle_layer, paddle_call)
    paddle_model.eval()
    return LayerTwin(name, randomized(torch_model), paddle_model, x)


# ----------------------------------------------------------------------------------------------------------
# One twin per layer


def embedding() -> LayerTwin:
    ids = np.random.default_rng(0).integers(0, 30, size=(2, 7)).astype(np.int64)
    ids[:, -2:] = 0  # padded positions
    return _pair("embedding", torch.nn.Embedding(30, 6, padding_idx=0), paddle.nn.Embedding(30, 6, padding_idx=0), ids)


def layernorm() -> LayerTwin:
    return _pair("layernorm", torch.nn.LayerNorm(6), paddle.nn.LayerNorm(6), floats((2, 5, 6)))


def groupnorm() -> LayerTwin:
    return _pair("groupnorm", torch.nn.GroupNorm(2, 6), paddle.nn.GroupNorm(2, 6), floats((2, 6, 4, 4)))


def prelu() -> LayerTwin:
    return _pair("prelu", torch.nn.PReLU(6), paddle.nn.PReLU(6), floats((2, 6, 4, 4)))


def conv1d() -> LayerTwin:
    return _pair("conv1d", torch.nn.Conv1d(4, 6, 3, padding=1), paddle.nn.Conv1D(4, 6, 3, padding=1), floats((2, 4, 9)))


def conv3d() -> LayerTwin:
    return _pair(
        "conv3d", torch.nn.Conv3d(3, 4, 3, padding=1), paddle.nn.Conv3D(3, 4, 3, padding=1), floats((1, 3, 5, 5, 5))
    )


def conv_transpose2d() -> LayerTwin:
    """Grouped, strided: both frameworks store the weight [in, out / groups, kH, kW] = (4, 3, 3, 3)."""
    return _pair(
        "conv_transpose2d",
        torch.nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2),
        paddle.nn.Conv2DTranspose(4, 6, 3, stride=2, groups=2),
        floats((2, 4, 5, 5)),
    )


def _outputs_only(layer: Any, x: Any) -> Any:
    """A recurrent layer returns (outputs, final states): compare the outputs of every step."""
    return layer(x)[0]


def recurrent(cell: str, time_major: bool) -> LayerTwin:
    """A bidirectional 2-layer LSTM or GRU; batch-first (torch batch_first=True, Paddle time_major=False) or
    time-major (torch's default layout [T, B, F], Paddle time_major=True)."""
    torch_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    paddle_class = {"lstm": paddle.nn.LSTM, "gru": paddle.nn.GRU}[cell]
    torch_layer = torch_class(5, 7, num_layers=2, bidirectional=True, batch_first=not time_major)
    paddle_layer = paddle_class(5, 7, num_layers=2, direction="bidirect", time_major=time_major)
    shape = (6, 2, 5) if time_major else (2, 6, 5)
    name = f"{cell}_{'time_major' if time_major else 'batch_first'}"
    return _pair(name, torch_layer, paddle_layer, floats(shape), _outputs_only, _outputs_only)


def _self_attention_torch(layer: torch.nn.Module, x: Any) -> Any:
    return layer(x, x, x, need_weights=False)[0]


def _self_attention_paddle(layer: paddle.nn.Layer, x: Any) -> Any:
    return layer(x, x, x)


def multihead_attention(bias: bool = True) -> LayerTwin:
    """torch MultiheadAttention(batch_first=True), fused in_proj, against Paddle's (batch-first) q/k/v."""
    return _pair(
        "multihead_attention",
        torch.nn.MultiheadAttention(8, 2, batch_first=True, bias=bias),
        paddle.nn.MultiHeadAttention(8, 2, bias_attr=None if bias else False),
        floats((2, 5, 8)),
        _self_attention_torch,
        _self_attention_paddle,
    )


def transformer_encoder_layer(
    norm_first: bool = False, activation: str = "relu", paddle_normalize_before: bool | None = None
) -> LayerTwin:
    """torch TransformerEncoderLayer(batch_first=True, dropout=0) against paddle's; same names on both sides
    (`self_attn`, `linear1`, `linear2`, `norm1`, `norm2`) once the q/k/v split is done.

    `paddle_normalize_before` other than `norm_first` builds the faulty twin (post-norm against pre-norm).
    """
    before = norm_first if paddle_normalize_before is None else paddle_normalize_before
    torch.manual_seed(SEED)
    paddle.seed(SEED)
    torch_model = torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    )
    paddle_model = paddle.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, normalize_before=before
    )
    paddle_model.eval()
    return LayerTwin("transformer_encoder_layer", randomized(torch_model), paddle_model, floats((2, 5, 8)))


# ----------------------------------------------------------------------------------------------------------
# Separate q/k/v Linears on one side, one fused qkv Linear on the other


class TorchSelfAttention(torch.nn.Module):
    """A hand-written self-attention; `fused` keeps q/k/v in one Linear (timm's ViT), else three (BERT's)."""

    def __init__(self, dim: int = 8, heads: int = 2, fused: bool = False):
        super().__init__()
        self.heads, self.fused = heads, fused
        if fused:
            self.qkv = torch.nn.Linear(dim, 3 * dim)
        else:
            self.query, self.key, self.value = (torch.nn.Linear(dim, dim) for _ in range(3))
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1) if self.fused else (self.query(x), self.key(x), self.value(x))
        q, k, v = (t.reshape(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        attention = torch.softmax(q @ k.transpose(-1, -2) / (dim // self.heads) ** 0.5, dim=-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(batch, length, dim))


class PaddleSelfAttention(paddle.nn.Layer):
    """The Paddle twin of TorchSelfAttention, fused or not (independently of the torch side)."""

    def __init__(self, dim: int = 8, heads: int = 2, fused: bool = True):
        super().__init__()
        self.heads, self.fused = heads, fused
        if fused:
            self.qkv = paddle.nn.Linear(dim, 3 * dim)
        else:
            self.q, self.k, self.v = (paddle.nn.Linear(dim, dim) for _ in range(3))
        self.out = paddle.nn.Linear(dim, dim)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).chunk(3, axis=-1) if self.fused else (self.q(x), self.k(x), self.v(x))
        q, k, v = (t.reshape([batch, length, self.heads, -1]).transpose([0, 2, 1, 3]) for t in (q, k, v))
        scores = paddle.matmul(q, k, transpose_y=True) / (dim // self.heads) ** 0.5
        context = paddle.matmul(paddle.nn.functional.softmax(scores, axis=-1), v)
        return self.out(context.transpose([0, 2, 1, 3]).reshape([batch, length, dim]))


def self_attention(torch_fused: bool, paddle_fused: bool) -> LayerTwin:
    torch.manual_seed(SEED)
    paddle.seed(SEED)
    paddle_model = PaddleSelfAttention(fused=paddle_fused)
    paddle_model.eval()
    name = f"self_attention_{'fused' if torch_fused else 'separate'}_to_{'fused' if paddle_fused else 'separate'}"
    return LayerTwin(name, randomized(TorchSelfAttention(fused=torch_fused)), paddle_model, floats((2, 5, 8)))


# Every twin whose straight conversion must give the same outputs.
TWINS: dict[str, Callable[[], LayerTwin]] = {
    "embedding": embedding,
    "layernorm": layernorm,
    "groupnorm": groupnorm,
    "prelu": prelu,
    "conv1d": conv1d,
    "conv3d": conv3d,
    "conv_transpose2d": conv_transpose2d,
    "lstm_batch_first": lambda: recurrent("lstm", time_major=False),
    "lstm_time_major": lambda: recurrent("lstm", time_major=True),
    "gru_batch_first": lambda: recurrent("gru", time_major=False),
    "gru_time_major": lambda: recurrent("gru", time_major=True),
    "multihead_attention": multihead_attention,
    "multihead_attention_no_bias": lambda: multihead_attention(bias=False),
    "transformer_encoder_layer": transformer_encoder_layer,
    "transformer_encoder_layer_norm_first_gelu": lambda: transformer_encoder_layer(norm_first=True, activation="gelu"),
    "self_attention_separate_to_fused": lambda: self_attention(torch_fused=False, paddle_fused=True),
    "self_attention_fused_to_separate": lambda: self_attention(torch_fused=True, paddle_fused=False),
}
