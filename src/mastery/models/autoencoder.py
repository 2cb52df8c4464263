"""Autoencoders (textbook ch. 7): an encoder squeezes an image into a small code, a decoder
draws the image back from it.

`features` is the encoder (image -> code), so clustering and transfer reuse it as they reuse
a classifier's features; `head` is the decoder (code -> image, sigmoid pixels in [0, 1], the
range the reconstruction task scores). A sparse autoencoder penalises its code (`sparsity`,
the penalty's weight): `l1` on the code's values (Goodfellow et al., 14.2.1), or `kl`, the
divergence of each unit's mean activation over the batch from a small `sparsity_target` rate
(Ng's sparse-autoencoder notes), on a sigmoid code. Each training forward leaves the weighted
penalty in `code_penalty`, which the task adds to the loss: the model stays one tensor in,
one out, so it exports like any other family.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model

SparsityKind = Literal["l1", "kl"]


@dataclass(frozen=True)
class AutoencoderConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    code: int = 32  # the code's units
    widths: tuple[int, ...] = (256,)  # MLP: hidden units; conv: channels of each stride-2 stage
    sparsity: float = 0.0  # the penalty's weight in the loss; 0: a plain autoencoder
    sparsity_kind: SparsityKind = "l1"
    sparsity_target: float = 0.05  # kl: the mean activation each code unit should have
    dropout: float = 0.0  # on the encoder's hidden layers


class Autoencoder(nn.Module):
    """An encoder and a decoder around a code; the builders below make the two halves."""

    def __init__(self, config: AutoencoderConfig, features: nn.Module, head: nn.Module):
        super().__init__()
        if config.sparsity_kind not in ("l1", "kl"):
            raise ValueError(f"unknown sparsity_kind '{config.sparsity_kind}'; choose from ['kl', 'l1']")
        self.config = config
        self.features = nn.Sequential(features, nn.Sigmoid() if config.sparsity_kind == "kl" else nn.Identity())
        self.head = head
        self.code_penalty: Tensor | None = None  # the last training forward's weighted sparsity penalty

    def encode(self, image: Tensor) -> Tensor:  # (B, C, H, W) -> (B, code)
        return self.features(image)

    def decode(self, code: Tensor) -> Tensor:  # (B, code) -> (B, C, H, W) in [0, 1]
        return self.head(code)

    def forward(self, image: Tensor) -> Tensor:
        code = self.encode(image)
        if self.training and self.config.sparsity:
            self.code_penalty = self.config.sparsity * sparsity_penalty(code, self.config)
        return self.decode(code)


def sparsity_penalty(code: Tensor, config: AutoencoderConfig) -> Tensor:
    """Summed over the code's units, averaged over the batch: L1 of the values, or the KL
    divergence of a target rate from each unit's mean activation."""
    if config.sparsity_kind == "l1":
        return code.abs().sum(dim=1).mean()
    rate, target = code.mean(dim=0).clamp(1e-6, 1 - 1e-6), config.sparsity_target
    return (target * torch.log(target / rate) + (1 - target) * torch.log((1 - target) / (1 - rate))).sum()


def mlp_halves(config: AutoencoderConfig) -> tuple[nn.Module, nn.Module]:
    """Flatten -> Linear/ReLU blocks -> code, and the mirror image back to pixels."""
    return (mlp_encoder(config.in_shape, config.widths, config.code, config.dropout),
            mlp_decoder(config.code, config.widths, config.in_shape, nn.Sigmoid()))


def mlp_encoder(in_shape: tuple[int, ...], widths: tuple[int, ...], code: int, dropout: float) -> nn.Sequential:
    """Flatten -> Linear/ReLU/Dropout blocks of `widths` -> a Linear to `code` units."""
    sizes = [math.prod(in_shape), *widths]
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], code))


def mlp_decoder(code: int, widths: tuple[int, ...], in_shape: tuple[int, ...], output: nn.Module) -> nn.Sequential:
    """The encoder's mirror, `code` units -> Linear/ReLU blocks of reversed `widths` -> pixels
    under `output` (a sigmoid for [0, 1] pixels; identity for a VAE's Bernoulli logits)."""
    sizes = [code, *reversed(widths)]
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], math.prod(in_shape)), output, nn.Unflatten(1, tuple(in_shape)))


def conv_halves(config: AutoencoderConfig) -> tuple[nn.Module, nn.Module]:
    """Stride-2 3x3 convolutions (each halves the side) -> Linear to the code, and transposed
    convolutions (each doubles it) back from it: 28 -> 14 -> 7 -> 14 -> 28."""
    channels, height, width = config.in_shape
    scale = 2 ** len(config.widths)
    if height % scale or width % scale:
        raise ValueError(f"conv_autoencoder: {height}x{width} does not halve {len(config.widths)} times; "
                         "use fewer widths")
    stages = [channels, *config.widths]
    grid = (config.widths[-1], height // scale, width // scale)  # (C', H', W') of the deepest map
    encoder: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(stages):
        encoder += [nn.Conv2d(fan_in, fan_out, 3, stride=2, padding=1), nn.ReLU(), nn.Dropout(config.dropout)]
    decoder: list[nn.Module] = [nn.Linear(config.code, math.prod(grid)), nn.ReLU(), nn.Unflatten(1, grid)]
    for fan_in, fan_out in itertools.pairwise(reversed(stages)):
        decoder += [nn.ConvTranspose2d(fan_in, fan_out, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
    decoder[-1] = nn.Sigmoid()  # pixels, not features, after the last transposed convolution
    return nn.Sequential(*encoder, nn.Flatten(), nn.Linear(math.prod(grid), config.code)), nn.Sequential(*decoder)


def _autoencoder(halves, in_shape, code, widths, sparsity, sparsity_kind, sparsity_target, dropout) -> Autoencoder:
    config = AutoencoderConfig(tuple(in_shape), code, tuple(widths), sparsity, sparsity_kind, sparsity_target, dropout)
    return Autoencoder(config, *halves(config))


@register_model(task="reconstruction")
def mlp_autoencoder(in_shape=(1, 28, 28), code=32, hidden=(256,), sparsity=0.0, sparsity_kind="l1",
                    sparsity_target=0.05, dropout=0.0):
    return _autoencoder(mlp_halves, in_shape, code, hidden, sparsity, sparsity_kind, sparsity_target, dropout)


@register_model(task="reconstruction")
def conv_autoencoder(in_shape=(1, 28, 28), code=64, channels=(16, 32), sparsity=0.0, sparsity_kind="l1",
                     sparsity_target=0.05, dropout=0.0):
    return _autoencoder(conv_halves, in_shape, code, channels, sparsity, sparsity_kind, sparsity_target, dropout)
