"""MiniAlexNet in Paddle, layer for layer the reference's (same attribute names, so weights map by name)."""

import paddle
from paddle import nn


class MiniAlexNet(nn.Layer):
    def __init__(self, num_classes: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2D(3, 16, kernel_size=5, stride=2, padding=2),
            nn.BatchNorm2D(16),
            nn.ReLU(),
            nn.MaxPool2D(kernel_size=3, stride=2),
            nn.Conv2D(16, 32, kernel_size=3, padding=1),
            nn.BatchNorm2D(32),
            nn.ReLU(),
            nn.MaxPool2D(kernel_size=3, stride=2),
            nn.Conv2D(32, 64, kernel_size=3, padding=1),
            nn.BatchNorm2D(64),
            nn.ReLU(),
        )
        self.avgpool = nn.AdaptiveAvgPool2D((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(64 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = paddle.flatten(x, 1)
        return self.classifier(x)


def mini_alexnet(num_classes: int = 10) -> MiniAlexNet:
    return MiniAlexNet(num_classes=num_classes)
