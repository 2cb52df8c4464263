"""Vision Transformer (Dosovitskiy et al., 2021; textbook ch. 9): images as sequences of patches.

A Conv2d with kernel = stride = patch cuts the image into non-overlapping patches and embeds
each; a learnable class token is prepended and learnable positions are added; pre-norm
transformer blocks (`mastery.models.transformer`, shared with the language models) mix the
tokens, unmasked: every patch attends to every patch; the class token, after a final
LayerNorm, is the image's embedding. `ViT.attention_maps` returns each layer's attention
weights for plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model
from mastery.models.transformer import Block


@dataclass(frozen=True)
class ViTConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    num_classes: int = 10
    patch_size: int = 4  # must divide H and W: 28x28 -> 7x7 patches, 8x8 -> 2x2
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.1

    def __post_init__(self):
        _, height, width = self.in_shape
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"patch_size {self.patch_size} does not divide the input {height}x{width}; "
                f"choose a patch size that divides both H={height} and W={width}"
            )

    @property
    def num_patches(self) -> int:
        _, height, width = self.in_shape
        return (height // self.patch_size) * (width // self.patch_size)


class ViTFeatures(nn.Module):
    """Images to the class-token embedding: patch embedding, class token, positions, blocks, norm."""

    def __init__(self, config: ViTConfig):
        super().__init__()
        channels = config.in_shape[0]
        self.patch_embed = nn.Conv2d(
            channels, config.dim, config.patch_size, stride=config.patch_size
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, config.num_patches + 1, config.dim) * 0.02)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(config.dim, config.heads, config.mlp_ratio, config.dropout) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.dim)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def tokens(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        x = self.patch_embed(x)  # (B, dim, H/p, W/p)
        x = x.flatten(2).transpose(1, 2)  # (B, T, dim), T = number of patches
        cls = self.cls_token.expand(x.size(0), -1, -1)  # (B, 1, dim)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # (B, T+1, dim)
        return self.dropout(x)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.norm(self.mix(self.tokens(x))[0])[:, 0]  # (B, dim): the class token

    def attention_maps(self, x: Tensor) -> list[Tensor]:
        return self.mix(self.tokens(x), weights=True)[1]

    def mix(self, x: Tensor, weights: bool = False) -> tuple[Tensor, list[Tensor]]:
        """The blocks over the tokens (B, T+1, dim): their output, and with `weights` each
        block's weights (B, heads, T+1, T+1) (the written-out attention; without, the fused kernel)."""
        maps = []
        for block in self.blocks:
            x, found = block(x, weights=weights)
            maps.append(found)
        return x, maps


class ViT(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.config = config
        self.features = ViTFeatures(config)
        self.head = nn.Linear(config.dim, config.num_classes)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return self.head(self.features(x))  # (B, num_classes)

    @torch.no_grad()
    def attention_maps(self, x: Tensor) -> list[Tensor]:
        """Each layer's attention weights, (B, heads, T+1, T+1) with token 0 the class token.

        Rows sum to 1 (the weights before attention dropout); call in eval mode for plots.
        """
        return self.features.attention_maps(x)


def _vit(in_shape, num_classes, patch_size, dim, depth, heads, mlp_ratio, dropout) -> ViT:
    config = ViTConfig(
        tuple(in_shape), num_classes, patch_size, dim, depth, heads, mlp_ratio, dropout
    )
    return ViT(config)


@register_model
def vit_tiny(
    in_shape=(1, 28, 28), num_classes=10, patch_size=4, heads=4, mlp_ratio=2.0, dropout=0.1
):
    return _vit(in_shape, num_classes, patch_size, 64, 4, heads, mlp_ratio, dropout)


@register_model
def vit_small(
    in_shape=(1, 28, 28), num_classes=10, patch_size=4, heads=4, mlp_ratio=2.0, dropout=0.1
):
    return _vit(in_shape, num_classes, patch_size, 128, 6, heads, mlp_ratio, dropout)
