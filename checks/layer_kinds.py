"""What a layer is in both frameworks' terms, and the one rule for which Paddle tensors are stored transposed.

A kind is the framework-neutral name of what a layer does ("conv", "batchnorm", "maxpool", ...): lint and
localisation pair layers by it, the weight mapping pairs the layers that own tensors by it. Known classes
are looked up along the MRO, so subclasses (torch's NonDynamicallyQuantizableLinear, a porter's own Conv)
count too; any other class is named by its lower-case stem without the 1d/2d/3d suffix, so Dropout pairs
with Dropout and MaxPool2d with MaxPool2D.

Layers of the kinds in UNIT_KINDS own their sub-layers' tensors as one unit for the weight mapping.

The transpose rule: ``paddle.nn.Linear`` stores its weight ``[in, out]`` and needs the transpose of torch's
``[out, in]``; ``paddle.compat.nn.Linear`` (not a subclass of ``paddle.nn.Linear``) keeps torch's layout.
It is decided by the Paddle layer type, never by name or shape: a square Linear looks the same either way.

Frameworks are never imported at module level: the layer objects are only inspected.
"""

from __future__ import annotations

import re
from typing import Any

# The kinds of the layers that own tensors: kind -> (torch class names, paddle class names).
LAYER_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conv": (("Conv1d", "Conv2d", "Conv3d"), ("Conv1D", "Conv2D", "Conv3D")),
    "conv_transpose": (
        ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"),
        ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
    ),
    "batchnorm": (
        ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"),
        ("BatchNorm", "BatchNorm1D", "BatchNorm2D", "BatchNorm3D", "SyncBatchNorm"),
    ),
    "linear": (("Linear",), ("Linear",)),
    "layernorm": (("LayerNorm",), ("LayerNorm",)),
    "groupnorm": (("GroupNorm",), ("GroupNorm",)),
    "instancenorm": (
        ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
        ("InstanceNorm1D", "InstanceNorm2D", "InstanceNorm3D"),
    ),
    "embedding": (("Embedding",), ("Embedding",)),
    "prelu": (("PReLU",), ("PReLU",)),
    "attention": (("MultiheadAttention",), ("MultiHeadAttention",)),
    "lstm": (("LSTM",), ("LSTM",)),
    "gru": (("GRU",), ("GRU",)),
    "rnn": (("RNN",), ("SimpleRNN",)),
}
# Kinds whose layer pairs as one unit with every tensor of its sub-layers: a torch MultiheadAttention keeps
# q/k/v fused in itself and out_proj in a child, Paddle's keeps four child Linears; a recurrent layer keeps
# per-direction cells as children in Paddle.
UNIT_KINDS = frozenset({"attention", "lstm", "gru", "rnn"})
# Element-wise activations: one may stand where the other should (a Hardswish ported as a ReLU). Where the
# two runs call different ones at the same place, that is the divergence itself, not a reason to look further.
ACTIVATION_KINDS = frozenset(
    {
        "relu",
        "relu6",
        "hardswish",
        "hardsigmoid",
        "sigmoid",
        "tanh",
        "gelu",
        "silu",
        "leakyrelu",
        "elu",
        "mish",
        "softplus",
        "selu",
        "celu",
        "hardtanh",
        "prelu",
        "softsign",
        "tanhshrink",
        "logsigmoid",
    }
)
_KIND_OF_CLASS = {name: kind for kind, sides in LAYER_KINDS.items() for names in sides for name in names}
# Class-name stems of other layers that name the same operation differently.
_STEM_ALIASES = {"upsamplingbilinear": "upsample", "upsamplingnearest": "upsample", "swish": "silu"}
_DIMENSION_SUFFIX = re.compile(r"([123])d$")
# paddle.nn.Linear's parameters stored as the transpose of torch's.
_LINEAR_TRANSPOSED = frozenset({"weight"})


def known_kind(layer: Any) -> str | None:
    """The kind of a layer whose class (or a base class) is in LAYER_KINDS; None for any other layer."""
    for cls in type(layer).__mro__:
        kind = _KIND_OF_CLASS.get(cls.__name__)
        if kind is not None:
            return kind
    return None


def layer_kind(layer: Any) -> str:
    """The framework-neutral kind of any layer ("conv", "batchnorm", "maxpool", ...), used to pair layers."""
    kind = known_kind(layer)
    if kind is not None:
        return kind
    stem = class_stem(layer)
    stem = _STEM_ALIASES.get(stem, stem)
    return "conv" if stem.startswith("conv") and "transpose" not in stem else stem


def class_stem(layer: Any) -> str:
    """The lower-case class name without its 1d/2d/3d suffix: "MaxPool2D" -> "maxpool"."""
    return _DIMENSION_SUFFIX.sub("", type(layer).__name__.lower())


def spatial_dims(layer: Any) -> int:
    """1, 2 or 3 from the class name (Conv2d / MaxPool2D ...); 1 when the name carries none."""
    match = _DIMENSION_SUFFIX.search(type(layer).__name__.lower())
    return int(match.group(1)) if match else 1


def transposed_parameters(paddle_layer: Any) -> frozenset[str]:
    """Local names of the parameters this Paddle layer stores as the transpose of torch's (the Linear rule)."""
    import paddle

    return _LINEAR_TRANSPOSED if isinstance(paddle_layer, paddle.nn.Linear) else frozenset()


def paddle_transposed_names(paddle_model: Any) -> set[str]:
    """Full names of the Paddle model's tensors stored as the transpose of torch's: `paddle.nn.Linear` weights."""
    return {
        f"{path}.{local}" if path else local
        for path, layer in paddle_model.named_sublayers(include_self=True)
        for local in transposed_parameters(layer)
    }


def paddle_shape(torch_shape: tuple[int, ...], transposed: bool) -> tuple[int, ...]:
    """The shape a torch tensor has in Paddle's layout: reversed when the rule transposes it (2-D only)."""
    return tuple(reversed(torch_shape)) if transposed and len(torch_shape) == 2 else torch_shape
