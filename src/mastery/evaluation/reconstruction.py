"""An autoencoder's scores on a split, once (evaluation, the gate and parity read the same
figures), beside the two baselines a denoiser must beat on the same noisy images: the noisy
input itself, and a 3x3 median filter of it; and, where the spec names anomalies, how well
the model's reconstruction error tells them from the test images (`mastery.evaluation.anomaly`).

PSNR is 10 log10(1 / MSE) per image on [0, 1] pixels, capped at `PSNR_CAP` dB (a perfect copy
would be infinite); SSIM is Wang et al.'s (2004) structural similarity with their 11x11
Gaussian window (sigma 1.5, smaller on images under 11 pixels), K1 = 0.01, K2 = 0.03, over the
positions where the window fits, per image. A split's score is the mean over images, and an
image's PSNR is its per-example score (the gate's paired bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mastery.evaluation.anomaly import AnomalyScores

PSNR_CAP = 100.0  # dB: an MSE of 1e-10
MEDIAN_SIZE = 3


def psnr(images: Tensor, reference: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB of each image against its reference, pixels in [0, 1]: (N,)."""
    mse = (images - reference).square().flatten(1).mean(dim=1)
    return -10 * torch.log10(mse.clamp_min(10 ** (-PSNR_CAP / 10)))


def ssim(images: Tensor, reference: Tensor, size: int = 11, sigma: float = 1.5) -> Tensor:
    """Mean structural similarity of each image with its reference, pixels in [0, 1]: (N,)."""
    channels, height, width = images.shape[1:]
    side = min(height, width)
    size = min(size, side if side % 2 else side - 1)  # odd, and within the image
    window = _gaussian(size, sigma, channels).to(images)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, window, groups=channels)  # (N, C, H - size + 1, W - size + 1)

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(images), blur(reference)
    var_x, var_y = blur(images * images) - mu_x**2, blur(reference * reference) - mu_y**2
    cov = blur(images * reference) - mu_x * mu_y
    index = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(dim=1)


def _gaussian(size: int, sigma: float, channels: int) -> Tensor:
    line = torch.exp(-((torch.arange(size, dtype=torch.float64) - size // 2) ** 2) / (2 * sigma**2))
    line /= line.sum()
    return torch.outer(line, line).float().expand(channels, 1, size, size).contiguous()


def median_filtered(images: Tensor) -> Tensor:
    """Each image through a 3x3 median filter (per channel, edges mirrored): the classic denoiser."""
    from scipy.ndimage import median_filter

    return torch.from_numpy(median_filter(images.numpy(), size=(1, 1, MEDIAN_SIZE, MEDIAN_SIZE)))


class PerImageScores:
    """Scores kept per image (a subclass's `per_image`): a split's figure is their mean, and
    each image's value of a metric in `paired` is its per-example score (the gate's paired test)."""

    paired: ClassVar[tuple[str, ...]]
    per_image: dict[str, np.ndarray]

    @property
    def metrics(self) -> dict[str, float]:
        return {name: float(values.mean()) for name, values in self.per_image.items()}

    def per_example(self, metric: str) -> np.ndarray:
        """Per-image scores whose mean is `metric`: what a paired test compares."""
        if metric not in self.paired:
            raise ValueError(f"'{metric}' has no per-example scores; {', '.join(self.paired)} have")
        return self.per_image[metric]

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        """The scalar scores keyed for MLflow and `dvc metrics` (`per_class` is classification's)."""
        return {f"{prefix}{name}": value for name, value in self.metrics.items()}


@dataclass
class ReconstructionScores(PerImageScores):
    clean: Tensor  # (N, C, H, W) in [0, 1]: the target
    noisy: Tensor  # what the model read (the clean images when there is no noise)
    reconstructed: Tensor  # what it drew
    noise_std: float
    anomaly: AnomalyScores | None = None  # the spec's `task.anomalies` against the clean test images
    paired: ClassVar[tuple[str, ...]] = ("psnr", "ssim", "loss")

    @cached_property
    def median(self) -> Tensor:
        return median_filtered(self.noisy)

    @cached_property
    def per_image(self) -> dict[str, np.ndarray]:
        """Each image's scores: the model's, then the noisy input's and the median filter's."""
        scores = {"loss": (self.reconstructed - self.clean).square().flatten(1).mean(dim=1)}
        for suffix, images in (("", self.reconstructed), ("_noisy", self.noisy), ("_median3", self.median)):
            scores |= {f"psnr{suffix}": psnr(images, self.clean), f"ssim{suffix}": ssim(images, self.clean)}
        return {name: values.double().numpy() for name, values in scores.items()}

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        return super().flat(prefix) | (self.anomaly.flat(prefix) if self.anomaly else {})

    def report(self) -> dict:
        """Everything, JSON-ready: the mean scores, their medians over images, and what they were measured on."""
        medians = {f"{name}_median_over_images": float(np.median(v)) for name, v in self.per_image.items()}
        anomaly = {"anomaly": self.anomaly.report()} if self.anomaly else {}
        return {**self.metrics, **medians, "images": len(self.clean), "noise_std": self.noise_std,
                "median_filter": f"{MEDIAN_SIZE}x{MEDIAN_SIZE}", **anomaly}


def plot_reconstructions(scores: ReconstructionScores, path: str | Path, count: int = 8) -> Path:
    """The first `count` images in four rows: original, noisy input, the model's reconstruction,
    the median filter's, each titled with its PSNR."""
    rows = (("original", scores.clean, None), (f"noisy (std {scores.noise_std:g})", scores.noisy, "psnr_noisy"),
            ("reconstructed", scores.reconstructed, "psnr"), ("median 3x3", scores.median, "psnr_median3"))
    count = min(count, len(scores.clean))
    return plot_image_rows([(label, images[:count], [f"{v:.1f} dB" for v in scores.per_image[metric][:count]]
                             if metric else None) for label, images, metric in rows], path)


def plot_image_rows(rows: list[tuple[str, Tensor, list[str] | None]], path: str | Path) -> Path:
    """Rows of [0, 1] images (N, C, H, W), each labelled on its left and its images maybe titled:
    the grid every image-drawing task (reconstructions, samples, traversals) plots on."""
    from matplotlib.figure import Figure

    from mastery.evaluation.plots import _save

    count = max(len(images) for _, images, _ in rows)
    fig = Figure(figsize=(1.3 * count, 1.5 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), count, squeeze=False)
    for row, (label, images, titles) in zip(axes, rows, strict=True):
        row[0].set_ylabel(label, fontsize=8)
        for i, ax in enumerate(row):
            ax.set(xticks=[], yticks=[])
            if i >= len(images):
                ax.set_axis_off()
                continue
            ax.imshow(images[i].permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
            if titles:
                ax.set_title(titles[i], fontsize=7)
    return _save(fig, path)
