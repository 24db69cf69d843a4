"""Pitfall lint: the silent configuration mismatches between a torch layer and its Paddle twin.

Many porting bugs are not in the weights but in a layer's settings whose defaults or conventions differ
between the frameworks (DESIGN §3): BatchNorm momentum is ``1 - m`` in Paddle, MaxPool ``ceil_mode``,
AvgPool ``exclusive`` vs ``count_include_pad``, Dropout ``downscale_in_infer``, ``align_corners``, GELU
``approximate``, epsilons, ``padding_mode``. They are read here from the two models' own layer attributes,
so the lint explains a divergence (and catches the training-only ones a forward check cannot see).
Frameworks are never imported at module level: the layer objects are only inspected.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

# Class-name stems (lower case, without the 1d/2d/3d suffix) that name the same operation differently.
_KIND_ALIASES = {
    "syncbatchnorm": "batchnorm",
    "upsamplingbilinear": "upsample",
    "upsamplingnearest": "upsample",
    "logsoftmax": "logsoftmax",
    "silu": "silu",
    "swish": "silu",
}
_DIMENSION_SUFFIX = re.compile(r"([123])d$")


def layer_kind(layer: Any) -> str:
    """The framework-neutral kind of a layer ("conv", "batchnorm", "maxpool", ...), used to pair layers."""
    name = type(layer).__name__.lower()
    name = _DIMENSION_SUFFIX.sub("", name)
    name = _KIND_ALIASES.get(name, name)
    return "conv" if name.startswith("conv") and "transpose" not in name else name


def _spatial_dims(layer: Any) -> int:
    """1, 2 or 3 from the class name (Conv2d / MaxPool2D ...); 1 when the name carries none."""
    match = _DIMENSION_SUFFIX.search(type(layer).__name__.lower())
    return int(match.group(1)) if match else 1


class ModulePair(NamedTuple):
    """A torch module and the Paddle layer that plays its part, with their full paths."""

    torch_name: str
    torch_module: Any
    paddle_name: str
    paddle_layer: Any


def torch_leaves(model: Any) -> list[tuple[str, Any]]:
    """Leaf modules of a torch model in definition order (the root itself when it has no children)."""
    return [
        (name or type(module).__name__, module)
        for name, module in model.named_modules()
        if next(module.children(), None) is None and layer_kind(module) != "identity"
    ]


def paddle_leaves(model: Any) -> list[tuple[str, Any]]:
    """Leaf layers of a Paddle model in definition order (the root itself when it has no sublayers)."""
    return [
        (name or type(layer).__name__, layer)
        for name, layer in model.named_sublayers(include_self=True)
        if not layer.sublayers() and layer_kind(layer) != "identity"
    ]


def align_by_kind(torch_kinds: Sequence[str], paddle_kinds: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of the longest kind-for-kind alignment; layers one side lacks are left out."""
    matcher = difflib.SequenceMatcher(None, list(torch_kinds), list(paddle_kinds), autojunk=False)
    return [(block.a + k, block.b + k) for block in matcher.get_matching_blocks() for k in range(block.size)]


def pair_by_definition(torch_model: Any, paddle_model: Any) -> list[ModulePair]:
    """Pair leaf layers by definition order and kind: what lint uses when no execution pairing is given."""
    torch_side, paddle_side = torch_leaves(torch_model), paddle_leaves(paddle_model)
    pairs = align_by_kind([layer_kind(m) for _, m in torch_side], [layer_kind(m) for _, m in paddle_side])
    return [ModulePair(*torch_side[i], *paddle_side[j]) for i, j in pairs]


@dataclass(frozen=True)
class Finding:
    """One configuration mismatch between a torch layer and its Paddle twin."""

    torch_layer: str
    paddle_layer: str
    torch_type: str
    paddle_type: str
    attribute: str
    torch_value: Any
    paddle_value: Any
    expected_paddle_value: Any
    why: str
    visible_in_eval: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists)."""
        fields = asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value for key, value in fields.items()}

    def describe(self) -> str:
        """One line for logs and tables."""
        seen = "" if self.visible_in_eval else " (invisible in eval mode)"
        return (
            f"{self.paddle_layer}.{self.attribute}: paddle {self.paddle_value!r}, expected "
            f"{self.expected_paddle_value!r} (torch {self.torch_layer} has {self.torch_value!r}){seen}: "
            f"{self.why}"
        )


@dataclass(frozen=True)
class _Rule:
    """How to read one setting on each side, what the Paddle value must be, and why it matters."""

    attribute: str
    torch_value: Callable[[Any], Any]
    paddle_value: Callable[[Any], Any]
    why: str
    visible_in_eval: bool = True
    # The Paddle value that matches a torch value (Paddle's conventions differ, e.g. BN momentum).
    expected: Callable[[Any], Any] = staticmethod(lambda value: value)


def _attr(*names: str, default: Any = None) -> Callable[[Any], Any]:
    """Read the first attribute present (private names move between framework versions)."""

    def read(layer: Any) -> Any:
        for name in names:
            if hasattr(layer, name):
                return getattr(layer, name)
        return default

    return read


def _spatial(*names: str) -> Callable[[Any], Any]:
    """Read a per-dimension setting (int, tuple or list) as a tuple with one entry per dimension."""
    read = _attr(*names)

    def normalised(layer: Any) -> Any:
        value = read(layer)
        dims = _spatial_dims(layer)
        if isinstance(value, str) or value is None:
            return value.lower() if isinstance(value, str) else None
        if isinstance(value, (int, float)):
            return (value,) * dims
        value = tuple(value)
        if len(value) == 2 * dims and value[0::2] == value[1::2]:
            value = value[0::2]  # Paddle may store symmetric padding as [before, after] per dimension
        return value

    return normalised


def _pool_stride(layer: Any) -> Any:
    """The stride, which both frameworks default (None) to the kernel size."""
    stride = _spatial("stride")(layer)
    return _spatial("kernel_size", "ksize")(layer) if stride is None else stride


# UpsamplingBilinear2D / UpsamplingNearest2D fix their mode and grid in the class, not in attributes.
_FIXED_UPSAMPLING = {"upsamplingbilinear": ("bilinear", True), "upsamplingnearest": ("nearest", False)}


def _upsample_setting(layer: Any) -> tuple[str, bool]:
    """(mode, align_corners) of any upsampling layer."""
    fixed = _FIXED_UPSAMPLING.get(_DIMENSION_SUFFIX.sub("", type(layer).__name__.lower()))
    if fixed is not None:
        return fixed
    return getattr(layer, "mode", "nearest"), bool(getattr(layer, "align_corners", False))


def _paddle_align_mode(layer: Any) -> int:
    """Paddle's align_mode, which only acts on linear modes without align_corners."""
    mode, align_corners = _upsample_setting(layer)
    return 0 if align_corners or mode == "nearest" else getattr(layer, "align_mode", 0)


def _uniform(name: str) -> Callable[[Any], Any]:
    """Read a size or scale that may be one number or one per dimension; equal entries collapse to one."""

    def read(layer: Any) -> Any:
        value = getattr(layer, name, None)
        if isinstance(value, (list, tuple)):
            value = tuple(float(v) for v in value)
            return value[0] if len(set(value)) == 1 else value
        return None if value is None else float(value)

    return read


def _has_bias(layer: Any) -> bool:
    return getattr(layer, "bias", None) is not None


_EPSILON = _Rule(
    "epsilon",
    _attr("eps"),
    _attr("_epsilon", "epsilon"),
    "epsilon is added to the variance before the square root; a different value shifts every "
    "normalised output (Paddle's legacy layers default to other values than torch's 1e-5)",
)
_BN_MOMENTUM = _Rule(
    "momentum",
    _attr("momentum"),
    _attr("_momentum", "momentum"),
    "Paddle's momentum weights the running average, torch's weights the new batch: Paddle must be 1 - torch "
    "(0.9 for torch's 0.1); a copied value makes the running statistics drift during training",
    visible_in_eval=False,
    expected=lambda m: "cumulative average (no Paddle equivalent)" if m is None else round(1.0 - m, 10),
)
_POOL_GEOMETRY = [
    _Rule(
        "kernel_size",
        _spatial("kernel_size"),
        _spatial("ksize", "kernel_size"),
        "a different window changes every pooled value",
    ),
    _Rule("stride", _pool_stride, _pool_stride, "a different stride changes the output size"),
    _Rule("padding", _spatial("padding"), _spatial("padding"), "padding changes border values and size"),
    _Rule(
        "ceil_mode",
        _attr("ceil_mode", default=False),
        _attr("ceil_mode", default=False),
        "ceil_mode rounds the output size up: one extra row/column (e.g. 57x57 instead of 56x56) that "
        "changes every later layer",
    ),
]
_CONV_GEOMETRY = [
    _Rule(
        "kernel_size",
        _spatial("kernel_size"),
        _spatial("_kernel_size", "kernel_size"),
        "a different kernel cannot hold the same weights",
    ),
    _Rule("stride", _spatial("stride"), _spatial("_stride", "stride"), "a different stride changes the output"),
    _Rule(
        "padding",
        _spatial("padding"),
        _spatial("_padding", "padding"),
        "padding shifts the output and changes its size",
    ),
    _Rule("dilation", _spatial("dilation"), _spatial("_dilation", "dilation"), "dilation spreads the kernel"),
    _Rule("groups", _attr("groups"), _attr("_groups", "groups"), "groups change which channels are mixed"),
    _Rule(
        "padding_mode",
        _attr("padding_mode"),
        _attr("_padding_mode", "padding_mode", default="zeros"),
        "reflect/replicate/circular padding fill the border differently from zeros",
    ),
    _Rule("bias", _has_bias, _has_bias, "a bias on one side only adds a constant the other lacks"),
]
_OTHER_AXIS = "normalising along another axis (the same only when the input has exactly dim + 1 dimensions)"
_SPEC: dict[str, list[_Rule]] = {
    "batchnorm": [_EPSILON, _BN_MOMENTUM],
    "instancenorm": [_EPSILON],
    "layernorm": [
        _EPSILON,
        _Rule(
            "normalized_shape",
            lambda m: tuple(m.normalized_shape),
            lambda m: tuple(_attr("_normalized_shape")(m) or ()),
            "normalising over other dimensions changes every output",
        ),
    ],
    "groupnorm": [
        _EPSILON,
        _Rule(
            "num_groups",
            _attr("num_groups"),
            _attr("_num_groups"),
            "a different group count normalises different channel sets",
        ),
    ],
    "maxpool": [
        *_POOL_GEOMETRY,
        _Rule(
            "dilation",
            _spatial("dilation"),
            lambda layer: (1,) * _spatial_dims(layer),
            "Paddle's MaxPool has no dilation",
        ),
    ],
    "avgpool": [
        *_POOL_GEOMETRY,
        _Rule(
            "count_include_pad",
            _attr("count_include_pad", default=True),
            lambda layer: not _attr("exclusive", default=True)(layer),
            "torch counts the padded zeros in the average by default (count_include_pad=True), Paddle "
            "excludes them by default (exclusive=True): border values differ",
        ),
        _Rule(
            "divisor_override",
            _attr("divisor_override"),
            _attr("divisor", "divisor_override"),
            "a divisor override rescales every output",
        ),
    ],
    "adaptiveavgpool": [
        _Rule(
            "output_size",
            _spatial("output_size"),
            _spatial("_output_size", "output_size"),
            "a different output size changes the pooled regions",
        )
    ],
    "adaptivemaxpool": [
        _Rule(
            "output_size",
            _spatial("output_size"),
            _spatial("_output_size", "output_size"),
            "a different output size changes the pooled regions",
        )
    ],
    "dropout": [
        _Rule("p", _attr("p"), _attr("p"), "a different drop probability changes training"),
        _Rule(
            "mode",
            lambda m: "upscale_in_train",
            _attr("mode", default="upscale_in_train"),
            "mode='downscale_in_infer' multiplies the outputs by (1 - p) at inference; torch scales during "
            "training and leaves eval outputs untouched",
        ),
    ],
    "upsample": [
        _Rule(
            "mode",
            lambda m: _upsample_setting(m)[0],
            lambda m: _upsample_setting(m)[0],
            "nearest, bilinear and bicubic interpolate differently",
        ),
        _Rule(
            "align_corners",
            lambda m: _upsample_setting(m)[1],
            lambda m: _upsample_setting(m)[1],
            "align_corners moves the sampling grid: every interpolated value differs",
        ),
        _Rule(
            "align_mode",
            lambda m: 0,
            _paddle_align_mode,
            "Paddle's align_mode=1 samples at x*scale, torch samples at half-pixel centres (align_mode=0)",
        ),
        _Rule("scale_factor", _uniform("scale_factor"), _uniform("scale_factor"), "a different output size"),
        _Rule("size", _uniform("size"), _uniform("size"), "a different output size"),
    ],
    "gelu": [
        _Rule(
            "approximate",
            lambda m: getattr(m, "approximate", "none") == "tanh",
            _attr("_approximate", "approximate", default=False),
            "the tanh approximation of GELU differs from the exact erf form by up to ~1e-3",
        )
    ],
    "conv": _CONV_GEOMETRY,
    "linear": [_Rule("bias", _has_bias, _has_bias, "a bias on one side only adds a constant the other lacks")],
    "leakyrelu": [
        _Rule(
            "negative_slope",
            _attr("negative_slope"),
            _attr("_negative_slope", "negative_slope"),
            "a different slope changes every negative output",
        )
    ],
    "elu": [_Rule("alpha", _attr("alpha"), _attr("_alpha", "alpha"), "a different alpha changes negative outputs")],
    "softmax": [_Rule("dim", _attr("dim"), _attr("_axis", "axis"), _OTHER_AXIS)],
    "logsoftmax": [_Rule("dim", _attr("dim"), _attr("_axis", "axis"), _OTHER_AXIS)],
    "flatten": [
        _Rule("start_dim", _attr("start_dim"), _attr("start_axis"), "flattening other dimensions"),
        _Rule("end_dim", _attr("end_dim"), _attr("stop_axis"), "flattening other dimensions"),
    ],
}


def _same(expected: Any, actual: Any) -> bool:
    """Equal, with float tolerance for epsilons and momenta (0.9 vs 1 - 0.1)."""
    if (
        isinstance(expected, (float, int))
        and isinstance(actual, (float, int))
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        return math.isclose(float(expected), float(actual), rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(expected, tuple) and isinstance(actual, tuple) and len(expected) == len(actual):
        return all(_same(e, a) for e, a in zip(expected, actual, strict=True))
    return expected == actual


def lint_pair(pair: ModulePair) -> list[Finding]:
    """The mismatches between one torch module and its Paddle twin (none when their kinds differ)."""
    kind = layer_kind(pair.torch_module)
    if kind != layer_kind(pair.paddle_layer):
        return []
    findings = []
    for rule in _SPEC.get(kind, []):
        torch_value, paddle_value = rule.torch_value(pair.torch_module), rule.paddle_value(pair.paddle_layer)
        expected = rule.expected(torch_value)
        if not _same(expected, paddle_value):
            findings.append(
                Finding(
                    torch_layer=pair.torch_name,
                    paddle_layer=pair.paddle_name,
                    torch_type=type(pair.torch_module).__name__,
                    paddle_type=type(pair.paddle_layer).__name__,
                    attribute=rule.attribute,
                    torch_value=torch_value,
                    paddle_value=paddle_value,
                    expected_paddle_value=expected,
                    why=rule.why,
                    visible_in_eval=rule.visible_in_eval,
                )
            )
    return findings


def lint(torch_model: Any, paddle_model: Any, pairs: Iterable[ModulePair] | None = None) -> list[Finding]:
    """Every configuration mismatch between paired layers; pairs default to definition order and kind.

    Runs without a forward pass, so it also reports what eval mode hides (BatchNorm momentum).
    """
    if pairs is None:
        pairs = pair_by_definition(torch_model, paddle_model)
    seen: set[tuple[int, int]] = set()
    findings = []
    for pair in pairs:
        key = (id(pair.torch_module), id(pair.paddle_layer))
        if key not in seen:  # a layer called twice (a shared ReLU) is linted once
            seen.add(key)
            findings.extend(lint_pair(pair))
    return findings
