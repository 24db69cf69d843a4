"""The demo's Paddle twin of `demo_port.torch_model`: same structure, Paddle's own parameter names.

The keyword arguments beyond `num_classes` and `dropout` exist to build *faulty twins* that reproduce
real porting mistakes (BatchNorm epsilon, MaxPool `ceil_mode`, Dropout `mode`); the defaults are the
faithful port. Paddle's BatchNorm momentum is 1 - torch's, so 0.9 here matches torch's 0.1. The init is
the reference's own, ported (`_init_weights`): Paddle's defaults differ (the init step checks it).
"""

from __future__ import annotations

import paddle
from paddle import nn


class BasicBlock(nn.Layer):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34's block)."""

    def __init__(self, in_channels: int, channels: int, stride: int, bn_epsilon: float, bn_momentum: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2D(in_channels, channels, 3, stride=stride, padding=1, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(channels, momentum=bn_momentum, epsilon=bn_epsilon)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2D(channels, channels, 3, stride=1, padding=1, bias_attr=False)
        self.bn2 = nn.BatchNorm2D(channels, momentum=bn_momentum, epsilon=bn_epsilon)
        self.downsample: nn.Layer | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2D(in_channels, channels, 1, stride=stride, bias_attr=False),
                nn.BatchNorm2D(channels, momentum=bn_momentum, epsilon=bn_epsilon),
            )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Layer):
    """ResNet with BasicBlocks, widths 64..512, and a dropout before the classifier."""

    def __init__(
        self,
        layers: tuple[int, int, int, int],
        num_classes: int = 10,
        dropout: float = 0.2,
        bn_epsilon: float = 1e-5,
        bn_momentum: float = 0.9,
        maxpool_ceil_mode: bool = False,
        dropout_mode: str = "upscale_in_train",
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2D(3, 64, 7, stride=2, padding=3, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(64, momentum=bn_momentum, epsilon=bn_epsilon)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2D(3, stride=2, padding=1, ceil_mode=maxpool_ceil_mode)
        in_channels = 64
        stages = []
        for index, (channels, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            stride = 1 if index == 0 else 2
            stage = [BasicBlock(in_channels, channels, stride, bn_epsilon, bn_momentum)]
            stage += [BasicBlock(channels, channels, 1, bn_epsilon, bn_momentum) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            in_channels = channels
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2D(1)
        self.dropout = nn.Dropout(dropout, mode=dropout_mode)
        self.fc = nn.Linear(512, num_classes)  # stores [in, out]: a torch checkpoint needs the transpose
        self._init_weights()

    @paddle.no_grad()
    def _init_weights(self) -> None:
        """The reference's `_init_weights` in Paddle's initializers: for training from scratch, Paddle's own
        defaults (a Normal(0, sqrt(2/fan_in)) conv, an XavierUniform Linear with a zero bias) would differ."""
        init = nn.initializer
        for layer in self.sublayers():
            if isinstance(layer, nn.Conv2D):
                init.KaimingNormal(nonlinearity="relu", mode="fan_out")(layer.weight)
            elif isinstance(layer, nn.BatchNorm2D):
                init.Uniform(0.5, 1.5)(layer.weight)
                init.Normal(0.0, 0.1)(layer.bias)
                init.Normal(0.0, 0.1)(layer._mean)
                init.Uniform(0.5, 1.5)(layer._variance)
            elif isinstance(layer, nn.Linear):
                init.Normal(0.0, 0.01)(layer.weight)
                init.Normal(0.0, 0.1)(layer.bias)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = paddle.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def resnet18(
    num_classes: int = 10,
    dropout: float = 0.2,
    bn_epsilon: float = 1e-5,
    bn_momentum: float = 0.9,
    maxpool_ceil_mode: bool = False,
    dropout_mode: str = "upscale_in_train",
) -> nn.Layer:
    """Build the Paddle ResNet-18; the defaults are the faithful twin of `demo_port.torch_model.resnet18`."""
    return ResNet(
        (2, 2, 2, 2),
        num_classes=num_classes,
        dropout=dropout,
        bn_epsilon=bn_epsilon,
        bn_momentum=bn_momentum,
        maxpool_ceil_mode=maxpool_ceil_mode,
        dropout_mode=dropout_mode,
    )
