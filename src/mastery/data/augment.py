"""On-the-fly data augmentation of a whole batch at once (textbook ch. 4, regularisation).

Each transform draws one random choice per sample and applies them all with tensor ops,
so augmenting costs a few passes over the batch, not a Python loop over its images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from mastery.config import AugmentationConfig


def translate(x: Tensor, dy: Tensor, dx: Tensor, max_shift: int) -> Tensor:
    """Move image b down by dy[b] and right by dx[b] pixels, filling the border with zeros.

    Shifts lie within +-max_shift. This is a crop of the zero-padded batch, taken as one
    gather over flat pixel indices: (B, C, H, W) -> (B, C, H, W).
    """
    b, c, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4).flatten(2)  # (B, C, (H+2s)(W+2s))
    rows = torch.arange(h, device=x.device) + (max_shift - dy)[:, None]  # (B, H)
    cols = torch.arange(w, device=x.device) + (max_shift - dx)[:, None]  # (B, W)
    index = rows[:, :, None] * (w + 2 * max_shift) + cols[:, None, :]  # (B, H, W)
    return padded.gather(2, index.view(b, 1, h * w).expand(b, c, h * w)).view(b, c, h, w)


class Augmenter:
    """Random shift, mirror and noise as configured; the identity when all are off.

    The generator must live on the batch's device; None draws from the global RNG.
    """

    def __init__(self, cfg: AugmentationConfig) -> None:
        self.cfg = cfg

    @property
    def enabled(self) -> bool:
        """False when every transform is off, so the trainer can skip the call."""
        return self.cfg.shift > 0 or self.cfg.hflip or self.cfg.noise_std > 0

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment a (B, C, H, W) float batch; a new tensor, same shape and dtype."""
        if self.cfg.shift > 0:
            x = self._shift(x, generator)
        if self.cfg.hflip:
            x = self._mirror_half(x, generator)
        if self.cfg.noise_std > 0:
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x = x + self.cfg.noise_std * noise
        return x

    def _shift(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        """Translate each image by its own offset, uniform in [-shift, shift] per axis."""
        s = self.cfg.shift
        dy, dx = torch.randint(-s, s + 1, (2, len(x)), generator=generator, device=x.device)
        return translate(x, dy, dx, s)

    @staticmethod
    def _mirror_half(x: Tensor, generator: torch.Generator | None) -> Tensor:
        """Flip each image left-right with probability 1/2."""
        flip = torch.rand(len(x), generator=generator, device=x.device) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(-1), x)


def augmenting(cfg: AugmentationConfig, into: str = "image") -> Callable[[dict, torch.Generator], dict] | None:
    """A training batch's transform that writes its augmented images to `into`: over the images,
    or beside them as a second view; None when every transform is off, so the trainer skips it."""
    augment = Augmenter(cfg)
    if not augment.enabled:
        return None
    return lambda batch, generator: {**batch, into: augment(batch["image"], generator)}
