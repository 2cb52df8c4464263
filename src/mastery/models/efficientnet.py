"""EfficientNet (Tan & Le, 2019; textbook ch. 5): MBConv blocks and compound scaling, made small.

A base network (B0) is a table of stages of MBConv blocks: 1x1 expansion, depthwise 3x3,
squeeze-excitation, 1x1 projection, and a skip when input and output shapes match. Bigger
members scale the base together: `depth_mult` multiplies each stage's repeats (rounded up),
`width_mult` its channels (rounded to a multiple of 8), and `resolution` is the side the input
is resized to before the stem. The base table here is B0's first five stages with a stride-1
stem, sized for 28x28 (28 -> 14 -> 7 -> 4); B0's 224x224 stages would leave nothing to convolve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from mastery.models.registry import register_model


@dataclass(frozen=True)
class Stage:
    expand: int  # expansion ratio of the 1x1 conv (1 = no expansion conv)
    channels: int
    repeats: int
    stride: int  # of the stage's first block


BASE_STAGES = (
    Stage(expand=1, channels=16, repeats=1, stride=1),  # (B, 16, 28, 28)
    Stage(expand=6, channels=24, repeats=2, stride=2),  # (B, 24, 14, 14)
    Stage(expand=6, channels=40, repeats=2, stride=2),  # (B, 40, 7, 7)
    Stage(expand=6, channels=80, repeats=3, stride=2),  # (B, 80, 4, 4)
    Stage(expand=6, channels=112, repeats=3, stride=1),  # (B, 112, 4, 4)
)
STEM_CHANNELS, HEAD_CHANNELS = 32, 640  # B0: 32 and 1280
# (width, depth, resolution) multipliers of the paper's B0 and B1; resolution is relative to
# the input side (240 / 224 for B1).
COMPOUND = {"b0": (1.0, 1.0, 1.0), "b1": (1.0, 1.1, 240 / 224)}


@dataclass(frozen=True)
class EfficientNetConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    width_mult: float = 1.0
    depth_mult: float = 1.0
    resolution: int = 28  # input is resized to (resolution, resolution) when it differs
    dropout: float = 0.2
    stages: tuple[Stage, ...] = BASE_STAGES


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool, bottleneck, sigmoid gate that rescales each channel."""

    def __init__(self, channels: int, squeezed: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        scale = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        scale = self.expand(F.silu(self.reduce(scale)))  # (B, C, 1, 1)
        return x * scale.sigmoid()  # (B, C, H, W)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: narrow -> wide (1x1) -> depthwise 3x3 -> SE -> narrow (1x1)."""

    def __init__(self, in_channels: int, out_channels: int, expand: int, stride: int, se=0.25):
        super().__init__()
        wide = in_channels * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(in_channels, wide, 1, bias=False), nn.BatchNorm2d(wide), nn.SiLU()]
        layers += [
            nn.Conv2d(wide, wide, 3, stride=stride, padding=1, groups=wide, bias=False),
            nn.BatchNorm2d(wide),
            nn.SiLU(),
            SqueezeExcitation(wide, max(1, int(in_channels * se))),
            nn.Conv2d(wide, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.block = nn.Sequential(*layers)
        self.use_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:  # (B, C_in, H, W)
        out = self.block(x)  # (B, C_out, H/stride, W/stride)
        return out + x if self.use_skip else out


class Resize(nn.Module):
    """Bilinear resize to a fixed square side; the identity when the input already has it."""

    def __init__(self, side: int):
        super().__init__()
        self.side = side

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        if x.shape[-2:] == (self.side, self.side):
            return x
        return F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False)


class EfficientNet(nn.Module):
    def __init__(self, config: EfficientNetConfig):
        super().__init__()
        self.config = config
        stem = round_channels(STEM_CHANNELS, config.width_mult)
        blocks: list[nn.Module] = []
        channels = stem
        for stage in config.stages:
            out = round_channels(stage.channels, config.width_mult)
            for index in range(math.ceil(stage.repeats * config.depth_mult)):
                stride = stage.stride if index == 0 else 1
                blocks.append(MBConv(channels, out, stage.expand, stride))
                channels = out
        top = round_channels(HEAD_CHANNELS, config.width_mult)
        self.features = nn.Sequential(
            Resize(config.resolution),  # (B, C, R, R)
            nn.Conv2d(config.in_shape[0], stem, 3, padding=1, bias=False),  # (B, stem, R, R)
            nn.BatchNorm2d(stem),
            nn.SiLU(),
            *blocks,  # (B, last stage's channels, R/8, R/8)
            nn.Conv2d(channels, top, 1, bias=False),  # (B, top, R/8, R/8)
            nn.BatchNorm2d(top),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),  # (B, top, 1, 1)
            nn.Flatten(),  # (B, top)
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(top, config.num_classes))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def round_channels(channels: int, width_mult: float, divisor: int = 8) -> int:
    """Scale to the nearest multiple of `divisor`, losing at most 10% (as the reference code)."""
    scaled = channels * width_mult
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def _efficientnet(member: str, in_shape, num_classes, resolution, dropout) -> EfficientNet:
    width_mult, depth_mult, resolution_mult = COMPOUND[member]
    if resolution is None:
        resolution = round(in_shape[1] * resolution_mult)
    config = EfficientNetConfig(
        tuple(in_shape), num_classes, width_mult, depth_mult, int(resolution), dropout
    )
    return EfficientNet(config)


@register_model
def efficientnet_b0_small(in_shape=(1, 28, 28), num_classes=10, resolution=None, dropout=0.2):
    """The base network; `resolution` defaults to the input's height (square inputs: no resize)."""
    return _efficientnet("b0", in_shape, num_classes, resolution, dropout)


@register_model
def efficientnet_b1_small(in_shape=(1, 28, 28), num_classes=10, resolution=None, dropout=0.2):
    """B0 scaled as the paper's B1: 1.1x depth, 240/224 resolution (28x28 inputs run at 30x30)."""
    return _efficientnet("b1", in_shape, num_classes, resolution, dropout)
