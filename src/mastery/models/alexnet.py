"""AlexNet (Krizhevsky et al., 2012; textbook ch. 5), scaled down for small single-channel images.

Kept from the original: a large, strided first filter (5x5 stride 2 here, 11x11 stride 4 on
224x224), ReLU, overlapping 3x3 stride-2 max-pools, five conv layers, and a three-layer fully
connected head with dropout. Channel widths are the original's (64, 192, 384, 256, 256) times
`width`; the pools pad by one so an 8x8 input still leaves a 1x1 map instead of vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model

BASE_CHANNELS = (64, 192, 384, 256, 256)


@dataclass(frozen=True)
class AlexNetConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    width: float = 0.5  # multiplies BASE_CHANNELS and the hidden FC width (2048 at 1.0)
    dropout: float = 0.5


class AlexNet(nn.Module):
    def __init__(self, config: AlexNetConfig):
        super().__init__()
        self.config = config
        c1, c2, c3, c4, c5 = (max(8, round(c * config.width)) for c in BASE_CHANNELS)
        hidden = max(16, round(2048 * config.width))
        self.features = nn.Sequential(
            nn.Conv2d(config.in_shape[0], c1, 5, stride=2, padding=2),  # (B, c1, 14, 14) on 28x28
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),  # (B, c1, 7, 7)
            nn.Conv2d(c1, c2, 5, padding=2),  # (B, c2, 7, 7)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),  # (B, c2, 4, 4)
            nn.Conv2d(c2, c3, 3, padding=1),  # (B, c3, 4, 4)
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1),  # (B, c4, 4, 4)
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1),  # (B, c5, 4, 4)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),  # (B, c5, 2, 2); (B, c5, 1, 1) on 8x8
            nn.Flatten(),  # (B, c5 * 2 * 2)
        )
        self.head = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(flat_features(self.features, config.in_shape), hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, config.num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def flat_features(features: nn.Module, in_shape: tuple[int, int, int]) -> int:
    """Width of `features`' flat output, found by running one blank image through it."""
    with torch.no_grad():
        return features(torch.zeros(1, *in_shape)).shape[1]


@register_model
def alexnet(in_shape=(1, 28, 28), num_classes=10, width=0.5, dropout=0.5):
    return AlexNet(AlexNetConfig(tuple(in_shape), num_classes, width, dropout))
