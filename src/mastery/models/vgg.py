"""VGG (Simonyan & Zisserman, 2014; textbook ch. 5): stacks of 3x3 convs between max-pools.

Configurations are torchvision's lists: a number is a 3x3 conv with that many channels (times
`width`), "M" a 2x2 max-pool. The originals pool five times, which a 28x28 image cannot take
(28 -> 14 -> 7 -> 3 -> 1 -> 0): here a pool is kept only while the map is at least 4 pixels
wide, so a dropped pool merges its two stages into one resolution (three pools on 28x28, two
on 8x8). An adaptive average pool ends `features`, so the head does not depend on input size.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from mastery.models.registry import register_model

# fmt: off
CFGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
              512, 512, 512, "M", 512, 512, 512, "M"],
}
# fmt: on
MIN_SIDE_TO_POOL = 4  # a pool leaves a map at least 2 wide


@dataclass(frozen=True)
class VGGConfig:
    cfg: tuple[int | str, ...] = tuple(CFGS["vgg11"])
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    width: float = 0.5  # multiplies every conv's channels and the hidden FC width (512 at 1.0)
    batch_norm: bool = False
    dropout: float = 0.5


class VGG(nn.Module):
    def __init__(self, config: VGGConfig):
        super().__init__()
        self.config = config
        channels, side = config.in_shape[0], min(config.in_shape[1:])
        layers: list[nn.Module] = []
        for item in config.cfg:
            if item == "M":
                if side >= MIN_SIDE_TO_POOL:
                    layers.append(nn.MaxPool2d(2))  # (B, C, H/2, W/2)
                    side //= 2
                continue
            out = max(8, round(item * config.width))
            layers.append(nn.Conv2d(channels, out, 3, padding=1))  # (B, out, H, W)
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            channels = out
        self.features = nn.Sequential(
            *layers,  # (B, channels, 3, 3) on 28x28
            nn.AdaptiveAvgPool2d(1),  # (B, channels, 1, 1)
            nn.Flatten(),  # (B, channels)
        )
        hidden = max(16, round(512 * config.width))
        self.head = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, config.num_classes),
        )
        for module in self.modules():  # torchvision's VGG initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


def _vgg(cfg: str, in_shape, num_classes, width, batch_norm, dropout) -> VGG:
    config = VGGConfig(tuple(CFGS[cfg]), tuple(in_shape), num_classes, width, batch_norm, dropout)
    return VGG(config)


@register_model
def vgg11(in_shape=(1, 28, 28), num_classes=10, width=0.5, batch_norm=False, dropout=0.5):
    return _vgg("vgg11", in_shape, num_classes, width, batch_norm, dropout)


@register_model
def vgg16(in_shape=(1, 28, 28), num_classes=10, width=0.5, batch_norm=False, dropout=0.5):
    return _vgg("vgg16", in_shape, num_classes, width, batch_norm, dropout)
