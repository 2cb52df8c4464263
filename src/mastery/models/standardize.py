"""Input normalisation carried inside the model, so exports and servers take raw [0, 1] pixels."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Standardize(nn.Module):
    """(x - mean) / std per channel, with the training split's statistics as buffers."""

    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W)
        return (x - self.mean) / self.std


class Standardized(nn.Module):
    """A family behind its input standardisation, each reached by name (`standardize`, `net`)."""

    def __init__(self, net: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.standardize = Standardize(mean, std)
        self.net = net

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) in [0, 1]
        return self.net(self.standardize(x))

    def encode(self, x: Tensor):  # (B, C, H, W) in [0, 1] -> the family's code
        """A family with a code (an autoencoder, a VAE) encodes standardised pixels, as its
        forward reads them: a task calls `encode` alike on a bare family and a trained model."""
        return self.net.encode(self.standardize(x))

    def decode(self, code: Tensor) -> Tensor:
        """The family's decoder: codes need no standardisation."""
        return self.net.decode(code)


class FittedStandardized(Standardized):
    """A family with parts fitted in closed form (cluster centres from K-means on its codes),
    behind its standardisation: they are fitted on the pixels its forward reads."""

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        standardized = {**split, "image": self.standardize(split["image"])}
        for part in closed_form_parts(self.net):
            part.fit_closed_form(standardized)


def closed_form_parts(module: nn.Module) -> list[nn.Module]:
    """The outermost modules fitted in closed form (`fit_closed_form(split)`): each fits what it
    holds, so an input layer (`FittedStandardized`) hands its parts the split as its forward would."""
    if hasattr(module, "fit_closed_form"):
        return [module]
    return [part for child in module.children() for part in closed_form_parts(child)]
