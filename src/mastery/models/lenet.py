"""LeNet-5 (LeCun et al., 1998; textbook ch. 5): two conv/pool stages, three fully connected layers.

Classic layout: C1 6@5x5 -> S2 pool -> C3 16@5x5 -> S4 pool -> F5 120 -> F6 84 -> output.
28x28 inputs get C1 padding 2, as the original's 32x32 did; small inputs (8x8 digits) get
padding on both convs so the feature maps do not vanish.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from mastery.models.mlp import activation
from mastery.models.registry import register_model


@dataclass(frozen=True)
class LeNetConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    activation: str = "relu"  # the original used tanh-like squashing
    pool: str = "max"  # max | avg (the original subsampled by averaging)
    dropout: float = 0.0


class LeNet5(nn.Module):
    def __init__(self, config: LeNetConfig):
        super().__init__()
        self.config = config
        channels, height, _ = config.in_shape
        small = height < 16
        pool = nn.MaxPool2d if config.pool == "max" else nn.AvgPool2d
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=2),  # (B, 6, H, W)
            activation(config.activation),
            pool(2),  # (B, 6, H/2, W/2)
            nn.Conv2d(6, 16, 5, padding=2 if small else 0),  # (B, 16, H/2-4, W/2-4) on 28x28
            activation(config.activation),
            pool(2),  # (B, 16, 5, 5) on 28x28
            nn.Flatten(),
        )
        flat = 16 * _side(height, small) * _side(config.in_shape[2], small)
        self.head = nn.Sequential(
            nn.Linear(flat, 120),
            activation(config.activation),
            nn.Dropout(config.dropout),
            nn.Linear(120, 84),
            activation(config.activation),
            nn.Dropout(config.dropout),
            nn.Linear(84, config.num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def _side(size: int, small: bool) -> int:
    return size // 4 if small else (size // 2 - 4) // 2


@register_model
def lenet5(in_shape=(1, 28, 28), num_classes=10, activation="relu", pool="max", dropout=0.0):
    return LeNet5(LeNetConfig(tuple(in_shape), num_classes, activation, pool, dropout))
