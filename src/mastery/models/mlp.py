"""Multilayer perceptron (textbook ch. 3): flatten, then Linear -> activation -> dropout blocks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from torch import Tensor, nn

from mastery.models.registry import register_model

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


@dataclass(frozen=True)
class MLPConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    hidden: tuple[int, ...] = (256, 128)
    activation: str = "relu"
    dropout: float = 0.0


class MLP(nn.Module):
    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        channels, height, width = config.in_shape
        widths = [channels * height * width, *config.hidden]
        blocks = []
        for fan_in, fan_out in itertools.pairwise(widths):
            blocks += [nn.Linear(fan_in, fan_out), activation(config.activation)]
            if config.dropout:
                blocks.append(nn.Dropout(config.dropout))
        self.features = nn.Sequential(nn.Flatten(), *blocks)
        self.head = nn.Linear(widths[-1], config.num_classes)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


@register_model
def mlp(in_shape=(1, 28, 28), num_classes=10, hidden=(256, 128), activation="relu", dropout=0.0):
    return MLP(MLPConfig(tuple(in_shape), num_classes, tuple(hidden), activation, dropout))
