"""The reference: conv, BatchNorm, ReLU, pooling, dropout and a Linear head; a seeded init (no checkpoint)."""

from __future__ import annotations

import torch
from torch import nn


def classifier(classes: int = 5) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Dropout(0.5),  # held off in train mode: the check must not depend on a random mask
        nn.Linear(4, classes),
    )


def adam_factory(params: object, lr: float = 1e-3) -> torch.optim.Optimizer:
    """A porter's own optimizer factory: torch Adam, whose weight_decay is L2 added to the gradient."""
    return torch.optim.Adam(params, lr=lr, weight_decay=0.01)
