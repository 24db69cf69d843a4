"""Small torch/Paddle twin models for tests, as named pairs.

Each pair builder returns `(torch_model, paddle_model)`, both in eval mode and seeded. The torch side gets
non-trivial BatchNorm statistics and affine parameters (a fresh BatchNorm has mean 0 and variance 1, which
would hide a swapped mean and variance); the Paddle side keeps its own random weights, which a test
replaces with converted ones.

The convnet pairs take fault keywords that build *faulty twins*, reproducing real porting mistakes for
tests of layer-by-layer localisation: `bn_epsilon` (Paddle BatchNorm epsilon), `maxpool_ceil_mode`, and
`dropout_mode` ("downscale_in_infer" scales outputs at eval, torch does not). The defaults are faithful.

Import from a test module as `from twins import ...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import paddle
import torch

# Odd spatial size: a 2x2 MaxPool gives 5x5 with floor and 6x6 with ceil_mode, so that fault shows.
CONVNET_INPUT_SHAPE = (2, 3, 11, 11)
MLP_INPUT_SHAPE = (4, 16)
TORCH_BN_EPSILON = 1e-5


def example_input(shape: tuple[int, ...] = CONVNET_INPUT_SHAPE, seed: int = 0) -> np.ndarray:
    """A seeded float32 input both frameworks can take."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def run_torch(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def run_paddle(model: paddle.nn.Layer, x: np.ndarray) -> np.ndarray:
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


# ----------------------------------------------------------------------------------------------------------
# Pairs


def same_names_convnet(
    *,
    bn_epsilon: float = TORCH_BN_EPSILON,
    maxpool_ceil_mode: bool = False,
    dropout_mode: str = "upscale_in_train",
) -> tuple[torch.nn.Module, paddle.nn.Layer]:
    """Conv-BN-ReLU-pool twice, then a 16->10 Linear; both sides are flat Sequentials with the same names.

    Names agree once BatchNorm's statistics are renamed (`1.running_mean` is Paddle's `1._mean`).
    """
    layers = _paddle_convnet_layers(bn_epsilon, maxpool_ceil_mode, dropout_mode)
    return _torch_convnet(), _eval(paddle.nn.Sequential(*layers.values()))


def disjoint_names_convnet(
    *,
    bn_epsilon: float = TORCH_BN_EPSILON,
    maxpool_ceil_mode: bool = False,
    dropout_mode: str = "upscale_in_train",
) -> tuple[torch.nn.Module, paddle.nn.Layer]:
    """The same network, but Paddle nests it in named blocks: no parameter name is shared.

    torch `0.weight, 1.running_mean, ..., 10.weight` vs Paddle `stem.conv.weight, stem.norm._mean, ...,
    head.classifier.weight`, as happens between two frameworks' model zoos.
    """
    layers = _paddle_convnet_layers(bn_epsilon, maxpool_ceil_mode, dropout_mode)
    return _torch_convnet(), _eval(_PaddleStagedNet(layers))


def square_linear_mlp(paddle_linear: str = "nn") -> tuple[torch.nn.Module, paddle.nn.Layer]:
    """Two 16x16 Linears with a ReLU between; same names on both sides.

    `paddle_linear="nn"` builds `paddle.nn.Linear` (stores [in, out]: the weight needs a transpose);
    `"compat"` builds `paddle.compat.nn.Linear` (stores torch's [out, in]). The shapes alone cannot tell.
    """
    linear_classes = {"nn": paddle.nn.Linear, "compat": paddle.compat.nn.Linear}
    if paddle_linear not in linear_classes:
        raise ValueError(f"paddle_linear must be one of {sorted(linear_classes)}, got {paddle_linear!r}")
    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16))
    _paddle_seed()
    linear = linear_classes[paddle_linear]
    paddle_model = paddle.nn.Sequential(linear(16, 16), paddle.nn.ReLU(), linear(16, 16))
    return torch_model.eval(), _eval(paddle_model)


def reordered_definitions_chain() -> tuple[torch.nn.Module, paddle.nn.Layer]:
    """Three convs (3->8, 8->8, 8->8) run in the same order, but Paddle defines its layers backwards.

    The two 8->8 convs look alike, so definition order pairs them the wrong way round; only the order
    a forward pass calls them tells them apart. Takes `example_input()` (the convnet input shape).
    """
    torch.manual_seed(0)
    nn = torch.nn
    torch_model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
    )
    _paddle_seed()
    return torch_model.eval(), _eval(_PaddleBackwardsChain())


# ----------------------------------------------------------------------------------------------------------
# Building blocks


def _torch_convnet() -> torch.nn.Module:
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8, eps=TORCH_BN_EPSILON),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16, eps=TORCH_BN_EPSILON),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Dropout(0.5),
        nn.Linear(16, 10),
    )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0.0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.5)
                module.num_batches_tracked.fill_(7)
    return model.eval()


def _paddle_convnet_layers(bn_epsilon: float, maxpool_ceil_mode: bool, dropout_mode: str) -> dict[str, Any]:
    """The Paddle layers of the convnet, in torch's order, keyed by the role they play."""
    _paddle_seed()
    nn = paddle.nn
    return {
        "stem_conv": nn.Conv2D(3, 8, 3, padding=1),
        "stem_norm": nn.BatchNorm2D(8, epsilon=bn_epsilon),
        "stem_act": nn.ReLU(),
        "stem_pool": nn.MaxPool2D(2, stride=2, ceil_mode=maxpool_ceil_mode),
        "body_conv": nn.Conv2D(8, 16, 3, padding=1, bias_attr=False),
        "body_norm": nn.BatchNorm2D(16, epsilon=bn_epsilon),
        "body_act": nn.ReLU(),
        "head_pool": nn.AdaptiveAvgPool2D(1),
        "head_flatten": nn.Flatten(1),
        "head_dropout": nn.Dropout(0.5, mode=dropout_mode),
        "head_classifier": nn.Linear(16, 10),
    }


class _PaddleBlock(paddle.nn.Layer):
    """A named group of layers run in order (what model zoos build instead of a flat Sequential)."""

    def __init__(self, **layers: paddle.nn.Layer) -> None:
        super().__init__()
        for name, layer in layers.items():
            setattr(self, name, layer)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


class _PaddleStagedNet(paddle.nn.Layer):
    def __init__(self, layers: dict[str, paddle.nn.Layer]) -> None:
        super().__init__()
        for block in ("stem", "body", "head"):
            parts = {key.split("_", 1)[1]: layer for key, layer in layers.items() if key.startswith(block)}
            setattr(self, block, _PaddleBlock(**parts))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.head(self.body(self.stem(x)))


class _PaddleBackwardsChain(paddle.nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.last = paddle.nn.Conv2D(8, 8, 3, padding=1)
        self.middle = paddle.nn.Conv2D(8, 8, 3, padding=1)
        self.entry = paddle.nn.Conv2D(3, 8, 3, padding=1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        relu = paddle.nn.functional.relu
        return self.last(relu(self.middle(relu(self.entry(x)))))


def _paddle_seed() -> None:
    paddle.set_device("cpu")
    paddle.seed(0)


def _eval(model: paddle.nn.Layer) -> paddle.nn.Layer:
    model.eval()
    return model
