"""Variational autoencoders (textbook ch. 7; Kingma & Welling, 2014): an encoder gives a
gaussian posterior q(z|x) over a latent code, a decoder the Bernoulli pixels of p(x|z).

`features` is the encoder (image -> the posterior's mean and log-variance, side by side),
`head` the decoder (a code -> pixel logits), as in the autoencoders, so transfer and
clustering reuse the encoder. Training samples codes by reparameterisation and sums the
likelihood terms: that is the `vae` task's (`mastery.tasks.vae`), through `encode` and
`decode`. `forward` is what an export serves: the pixel probabilities decoded from the
posterior's mean, a deterministic reconstruction, so the model exports like an autoencoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mastery.models.autoencoder import mlp_decoder, mlp_encoder
from mastery.models.registry import register_model


@dataclass(frozen=True)
class VAEConfig:
    in_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    latent: int = 32  # the code's dimensions
    widths: tuple[int, ...] = (512, 256)  # the encoder's hidden units; the decoder mirrors them


class VAE(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        self.features = mlp_encoder(config.in_shape, config.widths, 2 * config.latent, dropout=0.0)
        self.head = mlp_decoder(config.latent, config.widths, config.in_shape, nn.Identity())

    def encode(self, image: Tensor) -> tuple[Tensor, Tensor]:  # (B, C, H, W) -> 2 x (B, latent)
        """The posterior's mean and log-variance."""
        mean, log_var = self.features(image).chunk(2, dim=1)
        return mean, log_var

    def decode(self, code: Tensor) -> Tensor:  # (B, latent) -> (B, C, H, W) logits
        return self.head(code)

    def forward(self, image: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W) in [0, 1]
        return torch.sigmoid(self.decode(self.encode(image)[0]))


@register_model(task="vae")
def mlp_vae(in_shape=(1, 28, 28), latent=32, hidden=(512, 256)):
    return VAE(VAEConfig(tuple(in_shape), latent, tuple(hidden)))
