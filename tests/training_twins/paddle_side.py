"""The Paddle twin, layer for layer; `bn_momentum` plants the porting bug of copying torch's 0.1."""

from __future__ import annotations

import paddle
from paddle import nn


def classifier(classes: int = 5, bn_momentum: float = 0.9) -> nn.Layer:
    return nn.Sequential(
        nn.Conv2D(3, 4, 3, padding=1),
        nn.BatchNorm2D(4, momentum=bn_momentum),
        nn.ReLU(),
        nn.AdaptiveAvgPool2D(1),
        nn.Flatten(1),
        nn.Dropout(0.5),
        nn.Linear(4, classes),
    )


def adamw_factory(parameters: object, learning_rate: float = 1e-3) -> paddle.optimizer.Optimizer:
    """A porter's own factory with the coupling wrong: AdamW decouples the weight decay, torch Adam does not."""
    return paddle.optimizer.AdamW(learning_rate=learning_rate, parameters=parameters, weight_decay=0.01)
