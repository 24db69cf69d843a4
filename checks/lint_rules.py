"""The built-in pitfall rules: the settings whose defaults or conventions differ between the frameworks.

BatchNorm momentum is ``1 - m`` in Paddle, MaxPool ``ceil_mode``, AvgPool ``exclusive`` vs
``count_include_pad``, Dropout ``downscale_in_infer``, ``align_corners``, GELU ``approximate``, epsilons,
``padding_mode`` (DESIGN §3). Each is read from the layer objects' own attributes; private names are tried
first because they move between framework versions. A rule is one pitfall and yields the settings it reads;
rules run per kind in the order they are written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paddle_port_checks.layer_kinds import class_stem, spatial_dims
from paddle_port_checks.lint_registry import Setting, lint_rule

# ----------------------------------------------------------------------------------------------------------
# Reading settings


def _read(layer: Any, *names: str, default: Any = None) -> Any:
    """The first attribute present (private names move between framework versions)."""
    for name in names:
        if hasattr(layer, name):
            return getattr(layer, name)
    return default


def _spatial(layer: Any, *names: str) -> Any:
    """A per-dimension setting (int, tuple or list) as a tuple with one entry per dimension."""
    value = _read(layer, *names)
    if isinstance(value, str) or value is None:
        return value.lower() if isinstance(value, str) else None
    dims = spatial_dims(layer)
    if isinstance(value, (int, float)):
        return (value,) * dims
    value = tuple(value)
    if len(value) == 2 * dims and value[0::2] == value[1::2]:
        value = value[0::2]  # Paddle may store symmetric padding as [before, after] per dimension
    return value


def _pool_stride(layer: Any) -> Any:
    """The stride, which both frameworks default (None) to the kernel size."""
    stride = _spatial(layer, "stride")
    return _spatial(layer, "kernel_size", "ksize") if stride is None else stride


# UpsamplingBilinear2D / UpsamplingNearest2D fix their mode and grid in the class, not in attributes.
_FIXED_UPSAMPLING = {"upsamplingbilinear": ("bilinear", True), "upsamplingnearest": ("nearest", False)}


def _upsample_setting(layer: Any) -> tuple[str, bool]:
    """(mode, align_corners) of any upsampling layer."""
    fixed = _FIXED_UPSAMPLING.get(class_stem(layer))
    if fixed is not None:
        return fixed
    return getattr(layer, "mode", "nearest"), bool(getattr(layer, "align_corners", False))


def _uniform(layer: Any, name: str) -> Any:
    """A size or scale that may be one number or one per dimension; equal entries collapse to one."""
    value = getattr(layer, name, None)
    if isinstance(value, (list, tuple)):
        value = tuple(float(v) for v in value)
        return value[0] if len(set(value)) == 1 else value
    return None if value is None else float(value)


def _has_bias(layer: Any) -> bool:
    return getattr(layer, "bias", None) is not None


def _private_or_public(layer: Any, name: str) -> Any:
    """A Paddle layer's setting: most layers keep it under a private name (`_stride`), some under the public one."""
    return _read(layer, f"_{name}", name)


# ----------------------------------------------------------------------------------------------------------
# Normalisation


@lint_rule("batchnorm", "instancenorm", "layernorm", "groupnorm")
def epsilon(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "epsilon",
        _read(torch_layer, "eps"),
        _private_or_public(paddle_layer, "epsilon"),
        "epsilon is added to the variance before the square root; a different value shifts every "
        "normalised output (Paddle's legacy layers default to other values than torch's 1e-5)",
    )


@lint_rule("batchnorm")
def bn_momentum(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    momentum = _read(torch_layer, "momentum")
    yield Setting(
        "momentum",
        momentum,
        _private_or_public(paddle_layer, "momentum"),
        "Paddle's momentum weights the running average, torch's weights the new batch: Paddle must be 1 - torch "
        "(0.9 for torch's 0.1); a copied value makes the running statistics drift during training: the eval-mode "
        "checks pass, training-mode checks (loss curves, running statistics) will fail",
        visible_in_eval=False,
        expected="cumulative average (no Paddle equivalent)" if momentum is None else round(1.0 - momentum, 10),
        fix="no Paddle momentum gives torch's cumulative average (momentum=None): give the reference a momentum"
        if momentum is None
        else "",
    )


@lint_rule("layernorm")
def layernorm_shape(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    paddle_shape = tuple(_read(paddle_layer, "_normalized_shape") or ())
    why = "normalising over other dimensions changes every output"
    yield Setting("normalized_shape", tuple(torch_layer.normalized_shape), paddle_shape, why)


@lint_rule("groupnorm")
def groupnorm_groups(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    why = "a different group count normalises different channel sets"
    yield Setting("num_groups", _read(torch_layer, "num_groups"), _read(paddle_layer, "_num_groups"), why)


# ----------------------------------------------------------------------------------------------------------
# Pooling


@lint_rule("maxpool", "avgpool")
def pool_geometry(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    kernels = _spatial(torch_layer, "kernel_size"), _spatial(paddle_layer, "ksize", "kernel_size")
    yield Setting("kernel_size", *kernels, "a different window changes every pooled value")
    strides = _pool_stride(torch_layer), _pool_stride(paddle_layer)
    yield Setting("stride", *strides, "a different stride changes the output size")
    paddings = _spatial(torch_layer, "padding"), _spatial(paddle_layer, "padding")
    yield Setting("padding", *paddings, "padding changes border values and size")


@lint_rule("maxpool", "avgpool")
def pool_ceil_mode(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "ceil_mode",
        _read(torch_layer, "ceil_mode", default=False),
        _read(paddle_layer, "ceil_mode", default=False),
        "ceil_mode rounds the output size up: one extra row/column (e.g. 57x57 instead of 56x56) that "
        "changes every later layer",
    )


@lint_rule("maxpool")
def maxpool_dilation(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    no_dilation = (1,) * spatial_dims(paddle_layer)
    yield Setting(
        "dilation",
        _spatial(torch_layer, "dilation"),
        no_dilation,
        "Paddle's MaxPool has no dilation",
        fix="no Paddle MaxPool argument: pool a dilated view of the input in forward(), or undilate the reference",
    )


@lint_rule("avgpool")
def avgpool_divisor(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "count_include_pad",
        _read(torch_layer, "count_include_pad", default=True),
        not _read(paddle_layer, "exclusive", default=True),
        "torch counts the padded zeros in the average by default (count_include_pad=True), Paddle "
        "excludes them by default (exclusive=True): border values differ",
        argument="exclusive",
        fix_value=not _read(torch_layer, "count_include_pad", default=True),
    )
    divisors = _read(torch_layer, "divisor_override"), _read(paddle_layer, "divisor", "divisor_override")
    yield Setting("divisor_override", *divisors, "a divisor override rescales every output")


@lint_rule("adaptiveavgpool", "adaptivemaxpool")
def adaptive_pool_output_size(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    sizes = _spatial(torch_layer, "output_size"), _spatial(paddle_layer, "_output_size", "output_size")
    yield Setting("output_size", *sizes, "a different output size changes the pooled regions")


# ----------------------------------------------------------------------------------------------------------
# Dropout and resizing


@lint_rule("dropout")
def dropout_p(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    why = "a different drop probability changes training"
    yield Setting("p", _read(torch_layer, "p"), _read(paddle_layer, "p"), why)


@lint_rule("dropout")
def dropout_mode(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "mode",
        "upscale_in_train",
        _read(paddle_layer, "mode", default="upscale_in_train"),
        "mode='downscale_in_infer' multiplies the outputs by (1 - p) at inference; torch scales during "
        "training and leaves eval outputs untouched",
    )


@lint_rule("upsample")
def interpolation(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    (torch_mode, torch_corners), (paddle_mode, paddle_corners) = map(_upsample_setting, (torch_layer, paddle_layer))
    yield Setting("mode", torch_mode, paddle_mode, "nearest, bilinear and bicubic interpolate differently")
    why = "align_corners moves the sampling grid: every interpolated value differs"
    yield Setting("align_corners", torch_corners, paddle_corners, why)
    # Paddle's align_mode only acts on linear modes without align_corners.
    align_mode = 0 if paddle_corners or paddle_mode == "nearest" else getattr(paddle_layer, "align_mode", 0)
    why = "Paddle's align_mode=1 samples at x*scale, torch samples at half-pixel centres (align_mode=0)"
    yield Setting("align_mode", 0, align_mode, why)


@lint_rule("upsample")
def upsample_output_size(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    for name in ("scale_factor", "size"):
        yield Setting(name, _uniform(torch_layer, name), _uniform(paddle_layer, name), "a different output size")


# ----------------------------------------------------------------------------------------------------------
# Activations and reshaping


@lint_rule("gelu")
def gelu_approximate(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    yield Setting(
        "approximate",
        getattr(torch_layer, "approximate", "none") == "tanh",
        _read(paddle_layer, "_approximate", "approximate", default=False),
        "the tanh approximation of GELU differs from the exact erf form by up to ~1e-3",
    )


@lint_rule("leakyrelu")
def leakyrelu_slope(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    slopes = _read(torch_layer, "negative_slope"), _private_or_public(paddle_layer, "negative_slope")
    yield Setting("negative_slope", *slopes, "a different slope changes every negative output")


@lint_rule("elu")
def elu_alpha(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    alphas = _read(torch_layer, "alpha"), _private_or_public(paddle_layer, "alpha")
    yield Setting("alpha", *alphas, "a different alpha changes negative outputs")


@lint_rule("softmax", "logsoftmax")
def softmax_axis(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    why = "normalising along another axis (the same only when the input has exactly dim + 1 dimensions)"
    yield Setting("dim", _read(torch_layer, "dim"), _private_or_public(paddle_layer, "axis"), why, argument="axis")


@lint_rule("flatten")
def flatten_dims(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    for torch_name, paddle_name in (("start_dim", "start_axis"), ("end_dim", "stop_axis")):
        ends = _read(torch_layer, torch_name), _read(paddle_layer, paddle_name)
        yield Setting(torch_name, *ends, "flattening other dimensions", argument=paddle_name)


# ----------------------------------------------------------------------------------------------------------
# Convolution (and the bias, which Linear shares)

_CONV_GEOMETRY = {
    "kernel_size": "a different kernel cannot hold the same weights",
    "stride": "a different stride changes the output",
    "padding": "padding shifts the output and changes its size",
    "dilation": "dilation spreads the kernel",
}


@lint_rule("conv")
def conv_geometry(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    for name, why in _CONV_GEOMETRY.items():
        yield Setting(name, _spatial(torch_layer, name), _spatial(paddle_layer, f"_{name}", name), why)
    groups = _read(torch_layer, "groups"), _private_or_public(paddle_layer, "groups")
    yield Setting("groups", *groups, "groups change which channels are mixed")


@lint_rule("conv")
def conv_padding_mode(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    modes = _read(torch_layer, "padding_mode"), _read(paddle_layer, "_padding_mode", "padding_mode", default="zeros")
    yield Setting("padding_mode", *modes, "reflect/replicate/circular padding fill the border differently from zeros")


@lint_rule("conv", "linear")
def bias(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
    why = "a bias on one side only adds a constant the other lacks"
    wanted = _has_bias(torch_layer)
    # Paddle adds a bias unless bias_attr=False: the fix is to drop that argument, or to write it.
    fix = "remove bias_attr=False (Paddle adds a bias by default)" if wanted else ""
    yield Setting("bias", wanted, _has_bias(paddle_layer), why, argument="bias_attr", fix_value=False, fix=fix)
