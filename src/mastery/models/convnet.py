"""A configurable CNN (textbook ch. 5 and 9): the space architecture search explores.

Each block is conv -> [batch-norm] -> activation, optionally followed by a second conv whose
output is added back (an identity skip, as in ResNet's basic block), then a 2x2 pool while
the map is larger than 4x4. An adaptive average pool to `out_side` x `out_side` ends the
features: 1 is global average pooling (fewest parameters), larger keeps some layout (LeNet
flattens 5x5); a linear or one-hidden-layer head classifies.

Two knobs are for speed at batch 1, where a wide conv on the full map costs more than all of
LeNet-5: `stride` 2 makes the first conv a stem that halves the map before anything wide
runs on it, and `separable` makes the later convs depthwise-separable (MobileNet: a k x k
conv per channel, then a 1 x 1 across channels, about k^2 times fewer multiply-adds).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from mastery.models.mlp import activation
from mastery.models.registry import register_model


@dataclass(frozen=True)
class ConvNetConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    channels: tuple[int, ...] = (16, 32)  # one conv block each
    kernels: tuple[int, ...] = (3, 3)  # odd sizes, one per block
    pool: str = "max"  # max | avg
    residual: bool = False
    batch_norm: bool = True
    activation: str = "relu"
    dropout: float = 0.0  # before the classifier
    head: int = 0  # hidden width of the classifier; 0 = linear
    out_side: int = 1  # side of the pooled feature map the head reads
    stride: int = 1  # of the first conv: 2 halves the map before any later conv runs on it
    separable: bool = False  # the convs after the first: depthwise, then pointwise


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel: int, config: ConvNetConfig, stride: int = 1,
                 separable: bool = False):
        super().__init__()
        norm = config.batch_norm
        self.conv = _conv_norm(in_channels, out_channels, kernel, norm, stride, separable)
        self.act = activation(config.activation)
        self.inner = _conv_norm(out_channels, out_channels, kernel, norm, 1, separable) if config.residual else None

    def forward(self, x: Tensor) -> Tensor:  # (B, C_in, H, W)
        out = self.act(self.conv(x))  # (B, C_out, H, W)
        if self.inner is not None:
            out = self.act(out + self.inner(out))  # identity skip around the second conv
        return out


def _conv_norm(in_channels: int, out_channels: int, kernel: int, batch_norm: bool, stride: int,
               separable: bool) -> nn.Sequential:
    """A conv (or a depthwise conv and a pointwise one) then batch-norm, which makes a bias redundant."""
    padding = kernel // 2
    if separable:
        convs = [nn.Conv2d(in_channels, in_channels, kernel, stride, padding, groups=in_channels, bias=False),
                 nn.Conv2d(in_channels, out_channels, 1, bias=not batch_norm)]
    else:
        convs = [nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=not batch_norm)]
    return nn.Sequential(*convs, nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity())


class ConvNet(nn.Module):
    def __init__(self, config: ConvNetConfig):
        super().__init__()
        if len(config.kernels) != len(config.channels) or any(k % 2 == 0 for k in config.kernels):
            raise ValueError(f"need one odd kernel size per block, got {config.kernels} for {config.channels}")
        if config.stride not in (1, 2):
            raise ValueError(f"the first conv's stride must be 1 or 2, got {config.stride}")
        self.config = config
        pool = nn.MaxPool2d if config.pool == "max" else nn.AvgPool2d
        layers: list[nn.Module] = []
        channels, side = config.in_shape[0], min(config.in_shape[1:])
        for i, (out, kernel) in enumerate(zip(config.channels, config.kernels, strict=True)):
            stride = config.stride if i == 0 else 1
            # never the first conv separable: on the input's one channel, a depthwise conv is one filter
            layers.append(ConvBlock(channels, out, kernel, config, stride, config.separable and i > 0))
            side = -(-side // stride)  # (B, out, side, side)
            if side > 4 and stride == 1:  # a strided conv has halved the map already
                layers.append(pool(2))  # (B, out, side/2, side/2)
                side //= 2
            channels = out
        pooled = nn.AdaptiveAvgPool2d(config.out_side)  # (B, C_last, out_side, out_side)
        self.features = nn.Sequential(*layers, pooled, nn.Flatten())  # (B, C_last * out_side^2)
        width = channels * config.out_side**2
        hidden = [nn.Linear(width, config.head), activation(config.activation)] if config.head else []
        self.head = nn.Sequential(*hidden, nn.Dropout(config.dropout), nn.Linear(config.head or width, config.num_classes))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)


@register_model
def convnet(
    in_shape=(1, 28, 28),
    num_classes=10,
    channels=(16, 32),
    kernels=3,
    pool="max",
    residual=False,
    batch_norm=True,
    activation="relu",
    dropout=0.0,
    head=0,
    out_side=1,
    stride=1,
    separable=False,
):
    """One block per entry of `channels`; `kernels` is one size for all blocks or one per block."""
    kernels = (kernels,) * len(channels) if isinstance(kernels, int) else tuple(kernels)
    return ConvNet(ConvNetConfig(tuple(in_shape), num_classes, tuple(channels), kernels, pool, residual, batch_norm,
                                 activation, dropout, head, out_side, stride, separable))
