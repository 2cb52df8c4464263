"""A VAE's test scores (evaluation, the gate and the zoo read the same figures) and what it
draws: reconstructions, samples from the prior, latent traversals and interpolations.

Per binary test image, in nats: `neg_elbo` (its two terms `recon` and `kl`), on one seeded
code, and `nll`, the importance-weighted estimate of -log p(x) (`mastery.tasks.vae`); a
split's score is the mean over images and each image's is its per-example score (the gate's
paired bootstrap). `nll` <= `neg_elbo` up to sampling noise: the gap is how loose the bound is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from mastery.evaluation.reconstruction import PerImageScores, plot_image_rows

TRAVERSAL_RANGE = 3.0  # prior standard deviations either side of the digit's code
STEPS = 8  # images along a traversal or an interpolation


@dataclass
class VAEScores(PerImageScores):
    recon: Tensor  # (N,) -log p(x|z), one code per image
    kl: Tensor  # (N,) KL(q(z|x) || p(z))
    nll: Tensor  # (N,) importance-sampled -log p(x)
    samples: int  # importance samples per image
    paired: ClassVar[tuple[str, ...]] = ("nll", "neg_elbo")

    @cached_property
    def per_image(self) -> dict[str, np.ndarray]:
        scores = {"neg_elbo": self.recon + self.kl, "nll": self.nll, "recon": self.recon, "kl": self.kl}
        return {name: values.double().numpy() for name, values in scores.items()}

    def report(self) -> dict:
        """Everything, JSON-ready: the mean scores in nats, the bound's gap, what they were measured on."""
        metrics = self.metrics
        return {**metrics, "elbo_gap": metrics["neg_elbo"] - metrics["nll"], "images": len(self.nll),
                "importance_samples": self.samples, "units": "nats per image", "binarisation": "fixed threshold 0.5"}


def probabilities(model: nn.Module, codes: Tensor) -> Tensor:
    """The pixel probabilities the decoder draws from codes, on the CPU for plotting."""
    return torch.sigmoid(model.decode(codes)).float().cpu()


def plot_reconstructions(model: nn.Module, images: Tensor, nll: np.ndarray, path: Path) -> Path:
    """Binary test digits over their reconstructions from the posterior's mean, each with its NLL."""
    rows = [("binarised", images.float().cpu(), [f"{v:.0f} nats" for v in nll]),
            ("reconstructed", probabilities(model, model.encode(images)[0]), None)]
    return plot_image_rows(rows, path)


def plot_samples(model: nn.Module, noise: Tensor, path: Path) -> Path:
    """The decoder's pixel probabilities for prior codes, in rows of `STEPS`."""
    drawn = probabilities(model, noise)
    return plot_image_rows([("samples" if i == 0 else "", drawn[i : i + STEPS], None)
                            for i in range(0, len(drawn), STEPS)], path)


def plot_traversal(model: nn.Module, image: Tensor, dims: list[int], path: Path) -> Path:
    """One digit's code with one latent dimension swept over +-`TRAVERSAL_RANGE`, a row per dimension."""
    mean = model.encode(image[None])[0][0]
    values = torch.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, STEPS, device=mean.device)
    rows = []
    for dim in dims:
        codes = mean.repeat(STEPS, 1)
        codes[:, dim] = values
        rows.append((f"z[{dim}]", probabilities(model, codes), [f"{v:+.1f}" for v in values.tolist()]))
    return plot_image_rows(rows, path)


def plot_interpolation(model: nn.Module, first: Tensor, second: Tensor, path: Path) -> Path:
    """The decoder along the straight line between two digits' codes (posterior means), ends included."""
    means = model.encode(torch.stack([first, second]))[0]
    weights = torch.linspace(0, 1, STEPS, device=means.device)[:, None]
    codes = (1 - weights) * means[0] + weights * means[1]
    return plot_image_rows([("interpolated", probabilities(model, codes), None)], path)
