"""ResNet (He et al., 2015; textbook ch. 5): residual blocks, y = relu(F(x) + skip(x)).

One generic `ResNet(block, layers, widths)` and thin named builders, as torchvision's
`resnet.py`. Small inputs get a 3x3 stride-1 stem and no initial max-pool (the CIFAR
variant), so a 28x28 image is downsampled only by the stages: 28 -> 14 -> 7 -> 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from mastery.models.registry import register_model


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers; the skip is the identity, or 1x1 conv + BN if the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.skip = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:  # (B, C_in, H, W)
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_out, H/stride, W/stride)
        out = self.bn2(self.conv2(out))  # (B, C_out, H/stride, W/stride)
        return self.relu(out + self.skip(x))  # (B, C_out, H/stride, W/stride)


@dataclass(frozen=True)
class ResNetConfig:
    layers: tuple[int, ...] = (3, 3, 3)  # blocks per stage
    # channels per stage; every stage after the first halves H and W
    widths: tuple[int, ...] = (16, 32, 64)
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock], config: ResNetConfig):
        super().__init__()
        self.config = config
        stem = config.widths[0]
        stages: list[nn.Module] = []
        channels = stem
        for index, (blocks, out) in enumerate(zip(config.layers, config.widths, strict=True)):
            stride = 1 if index == 0 else 2
            stage = [block(channels, out, stride)] + [block(out, out) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            channels = out
        self.features = nn.Sequential(
            nn.Conv2d(config.in_shape[0], stem, 3, padding=1, bias=False),  # (B, widths[0], H, W)
            nn.BatchNorm2d(stem),
            nn.ReLU(inplace=True),
            *stages,  # (B, widths[-1], H / 2**(stages-1), W / 2**(stages-1))
            nn.AdaptiveAvgPool2d(1),  # (B, widths[-1], 1, 1)
            nn.Flatten(),  # (B, widths[-1])
        )
        self.head = nn.Linear(channels, config.num_classes)
        for module in self.modules():  # torchvision's ResNet initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def _resnet(layers, widths, in_shape, num_classes, width: float = 1.0) -> ResNet:
    scaled = tuple(max(8, round(w * width)) for w in widths)
    return ResNet(BasicBlock, ResNetConfig(tuple(layers), scaled, tuple(in_shape), num_classes))


@register_model
def resnet20(in_shape=(1, 28, 28), num_classes=10, width=1.0):
    """CIFAR ResNet-20: 3 stages x 3 blocks of 16/32/64 channels (6n+2 layers, n=3)."""
    return _resnet([3, 3, 3], [16, 32, 64], in_shape, num_classes, width)


@register_model
def resnet18(in_shape=(1, 28, 28), num_classes=10, width=1.0):
    """ResNet-18 with a small-input stem: [2, 2, 2, 2] blocks of 64..512 channels (x `width`)."""
    return _resnet([2, 2, 2, 2], [64, 128, 256, 512], in_shape, num_classes, width)
