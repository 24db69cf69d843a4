"""Pitfall rules for the layers of text and sequence models: attention, recurrent layers, embeddings.

The conventions that differ (DESIGN §8): torch's MultiheadAttention takes (seq, batch, embed) unless
`batch_first`, Paddle's always (batch, seq, embed); torch's RNNs are `batch_first`, Paddle's `time_major`
(the opposite flag); `bidirectional` is Paddle's `direction`; an Embedding's `padding_idx` makes its row
return zeros (and get no gradient), and Paddle keeps a negative index as written where torch counts it from
the end. The mask conventions (torch `key_padding_mask` True = ignore, Paddle's bool `attn_mask` True =
keep) live in the calling code, not in the layers: the forward check and its localisation catch those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paddle_port_checks.lint_registry import Setting, lint_rule


@lint_rule("attention")
def attention_layout(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "batch_first",
        bool(getattr(torch_layer, "batch_first", False)),
        True,
        "Paddle's MultiHeadAttention always takes (batch, seq, embed); torch's takes (seq, batch, embed) unless "
        "batch_first=True: transpose the inputs on the Paddle side (or set batch_first=True in the reference)",
        fix="no Paddle argument: transpose the inputs to (batch, seq, embed) before the layer (x.transpose([1, 0, 2]))",
    )
    yield Setting("num_heads", torch_layer.num_heads, paddle_layer.num_heads, "the heads split the embedding")
    yield Setting(
        "dropout",
        float(torch_layer.dropout),
        float(paddle_layer.dropout),
        "attention dropout differs: training diverges",
        visible_in_eval=False,
    )


@lint_rule("lstm", "gru", "rnn")
def recurrent_layout(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    batch_first = bool(getattr(torch_layer, "batch_first", False))
    yield Setting(
        "time_major",
        not batch_first,
        bool(getattr(paddle_layer, "time_major", False)),
        "Paddle's time_major is the opposite of torch's batch_first: the sequence and batch axes are swapped",
    )
    directions = 2 if getattr(torch_layer, "bidirectional", False) else 1
    yield Setting(
        "direction",
        "bidirect" if directions == 2 else "forward",
        "bidirect" if getattr(paddle_layer, "num_directions", 1) == 2 else "forward",
        "torch's bidirectional=True is Paddle's direction='bidirect'",
    )
    yield Setting("num_layers", torch_layer.num_layers, paddle_layer.num_layers, "stacked layers differ")
    yield Setting(
        "dropout",
        float(torch_layer.dropout),
        float(getattr(paddle_layer, "dropout", 0.0)),
        "dropout between stacked layers differs: training diverges",
        visible_in_eval=False,
    )


@lint_rule("embedding")
def embedding_padding(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    count = int(torch_layer.num_embeddings)
    paddle_index = getattr(paddle_layer, "_padding_idx", None)
    if isinstance(paddle_index, int) and paddle_index < 0:  # Paddle keeps -1 as written; torch counts it from the end
        paddle_index += count
    yield Setting(
        "padding_idx",
        torch_layer.padding_idx,
        paddle_index,
        "the padding row returns zeros and gets no gradient: a different index changes every padded position",
    )
    yield Setting(
        "sparse",
        bool(torch_layer.sparse),
        bool(getattr(paddle_layer, "_sparse", False)),
        "sparse gradients change which optimizers work and how weight decay applies",
        visible_in_eval=False,
    )
    yield Setting(
        "max_norm",
        torch_layer.max_norm,
        None,
        "torch renormalises looked-up rows to max_norm; Paddle's Embedding has no such option",
        fix="no Paddle argument: renormalise the looked-up rows in forward(), or drop max_norm in the reference",
    )
