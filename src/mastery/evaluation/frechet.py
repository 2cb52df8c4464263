"""Judging generated images offline (textbook ch. 8): a Fréchet distance in the features of a
classifier we trained ourselves, and that classifier's reading of what was drawn.

FID measures in Inception-v3's features, whose weights cannot be downloaded here; the judge is
instead a trained classifier of the same dataset (a `models/<pipeline>/<candidate>` directory,
such as the digits pipeline's LeNet-5), frozen. Its features are the input of its last linear
layer, the representation its classes are read from. The Fréchet distance between two sets of
features is that of the gaussians fitted to them (Heusel et al., 2017):
|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)). Two samples of real images are never at 0
(finite samples differ), so a figure is read against its floor, real test vs real train;
`CORRUPTIONS` are the sanity ladder a usable feature space must climb monotonically
(benchmarks/frechet.py measures both).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn

from mastery.errors import MasteryError

BATCH = 1024


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between gaussians fitted to two feature sets (N, D) and (M, D).

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of the symmetric
    S_a^(1/2) S_b S_a^(1/2), which `eigh` computes stably even where a covariance is singular
    (a judge's dead ReLU units), where a general matrix square root warns and drifts complex."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    return float(np.square(a.mean(axis=0) - b.mean(axis=0)).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


class Judge:
    """A frozen classifier that reads images in [0, 1]: its features and its class probabilities."""

    def __init__(self, directory: str | Path):
        from mastery.models.artifact import load_trained

        self.model, meta = load_trained(Path(directory))
        if meta["task"] != "classification":
            raise MasteryError(f"judge {directory}: a {meta['task']} model; a judge must be a classifier")
        self.model.eval().requires_grad_(False)
        self.directory, self.classes = Path(directory), meta["classes"]
        self.in_shape = tuple(meta["dims"]["in_shape"])
        self.last = [m for m in self.model.modules() if isinstance(m, nn.Linear)][-1]

    def check(self, in_shape, classes) -> None:
        """The judge must read the generator's images and know its classes."""
        if tuple(in_shape) != self.in_shape or list(classes) != list(self.classes):
            raise MasteryError(f"judge {self.directory} reads {self.in_shape} images of classes {self.classes}; "
                               f"the data has {tuple(in_shape)} images of {list(classes)}: train a judge on this dataset")

    @torch.inference_mode()
    def read(self, images: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The features (N, D) and class probabilities (N, K) of images in [0, 1]."""
        device = next(self.model.parameters()).device
        features, probs = [], []
        hook = self.last.register_forward_hook(lambda module, args, out: features.append(args[0].flatten(1).float().cpu()))
        try:
            for start in range(0, len(images), BATCH):
                probs.append(self.model(images[start : start + BATCH].float().to(device)).float().softmax(1).cpu())
        finally:
            hook.remove()
        return torch.cat(features).numpy(), torch.cat(probs).numpy()


def gaussian_noise(images: Tensor, level: float, generator: Generator) -> Tensor:
    return (images + level * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def blur(images: Tensor, level: float, generator: Generator) -> Tensor:
    """A gaussian blur of std `level` pixels."""
    size = 2 * int(np.ceil(2 * level)) + 1
    line = torch.exp(-((torch.arange(size) - size // 2) ** 2) / (2 * level**2))
    kernel = torch.outer(line, line) / line.sum() ** 2
    channels = images.shape[1]
    weight = kernel.expand(channels, 1, size, size).to(images)
    return F.conv2d(F.pad(images, [size // 2] * 4, mode="reflect"), weight, groups=channels)


def occlusion(images: Tensor, level: float, generator: Generator) -> Tensor:
    """A black square covering `level` of each image's side, at a random place."""
    height, width = images.shape[-2:]
    side = max(1, round(level * min(height, width)))
    out = images.clone()
    tops = torch.randint(0, height - side + 1, (len(images),), generator=generator)
    lefts = torch.randint(0, width - side + 1, (len(images),), generator=generator)
    for image, top, left in zip(out, tops.tolist(), lefts.tolist()):
        image[..., top : top + side, left : left + side] = 0
    return out


Corruption = Callable[[Tensor, float, Generator], Tensor]
CORRUPTIONS: dict[str, tuple[Corruption, tuple[float, ...]]] = {  # each with its rising levels
    "noise": (gaussian_noise, (0.1, 0.2, 0.4)),
    "blur": (blur, (0.5, 1.0, 2.0)),
    "occlusion": (occlusion, (0.35, 0.5, 0.65)),
}
