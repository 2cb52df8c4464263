"""A generator's scores on a split, once (evaluation, the gate and parity read the same figures),
and its figures: sample grids and the judge's class histogram.

The samples are drawn from seeded noise, one per test image and, for a conditional generator,
asking for that image's class, so every model meets the same (noise, label) pairs and the
judge's verdict on each is a paired per-example score (McNemar in the gate). `frechet` is the
distance between the judge's features of the samples and of the real test images
(`mastery.evaluation.frechet`); `class_spread` is the entropy of the judge's histogram of the
samples' classes over that of the real images' (1: as varied as the data; a generator that
collapses onto a few modes falls towards 0); `judged_accuracy` (conditional) is the share of
samples the judge reads as the class asked for, overall and per class, beside the judge's own
accuracy on the real test images (`judge_accuracy`), the ceiling a generator is read against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mastery.evaluation.metrics import metric_key


def class_entropy(predicted: np.ndarray, classes: int) -> float:
    counts = np.bincount(predicted, minlength=classes)
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log(shares)).sum())


@dataclass
class GenerativeScores:
    frechet: float
    judged: np.ndarray  # (N,) the judge's class of each sample
    real_judged: np.ndarray  # (N,) the judge's class of each real test image
    real_labels: np.ndarray  # (N,) their true classes
    classes: list[str]
    requested: np.ndarray | None = None  # (N,) the class each sample was asked for (conditional)

    @property
    def metrics(self) -> dict[str, float]:
        k = len(self.classes)
        metrics = {"frechet": self.frechet,
                   "class_spread": class_entropy(self.judged, k) / class_entropy(self.real_labels, k),
                   "judge_accuracy": float((self.real_judged == self.real_labels).mean())}
        if self.requested is not None:
            metrics["judged_accuracy"] = float(self.per_example("judged_accuracy").mean())
        return metrics

    def per_class(self) -> dict[str, dict[str, float]]:
        """Per class: the judge's accuracy on real images and, conditional, on samples asked for it."""
        table = {}
        for index, name in enumerate(self.classes):
            real = self.real_labels == index
            row = {"judge_accuracy": float((self.real_judged[real] == index).mean()) if real.any() else None,
                   "generated_share": float((self.judged == index).mean())}
            if self.requested is not None:
                asked = self.requested == index
                row["judged_accuracy"] = float((self.judged[asked] == index).mean()) if asked.any() else None
            table[name] = row
        return table

    def per_example(self, metric: str) -> np.ndarray:
        """Is each sample of the class it was asked for: the gate's paired (McNemar) scores."""
        if metric != "judged_accuracy" or self.requested is None:
            raise ValueError(f"'{metric}' has no per-example scores; a conditional generator's judged_accuracy has")
        return self.judged == self.requested

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        flat = {f"{prefix}{name}": value for name, value in self.metrics.items()}
        if per_class and self.requested is not None:
            flat |= {f"{prefix}judged_accuracy/{metric_key(name)}": row["judged_accuracy"]
                     for name, row in self.per_class().items() if row["judged_accuracy"] is not None}
        return flat

    def report(self) -> dict:
        return {"n_samples": len(self.judged), **self.metrics, "per_class": self.per_class()}


GRID_COLUMNS = 8  # samples per row of a grid


def plot_sample_grid(images: Tensor, path: Path, row_names: list[str] | None = None) -> Path:
    """Samples (N, C, H, W) in [0, 1] tiled `GRID_COLUMNS` to a row (the last row padded white)
    into one picture, each row maybe named: one image, not a subplot per sample, so a grid costs
    milliseconds each epoch."""
    from matplotlib.figure import Figure

    from mastery.evaluation.plots import _save

    columns = min(GRID_COLUMNS, len(images))
    rows = -(-len(images) // columns)
    gap = 1
    padded = torch.cat([images, torch.ones(rows * columns - len(images), *images.shape[1:])])
    padded = torch.nn.functional.pad(padded, (0, gap, 0, gap), value=1.0).unflatten(0, (rows, columns))
    height, width, channels = padded.shape[3], padded.shape[4], padded.shape[2]
    mosaic = padded.permute(0, 3, 1, 4, 2).reshape(rows * height, columns * width, channels)
    fig = Figure(figsize=(0.45 * columns + 0.8, 0.45 * rows + 0.2), layout="constrained")
    axis = fig.subplots()
    axis.imshow(mosaic.squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([height * (row + 0.5) for row in range(rows)], row_names or [""] * rows, fontsize=8)
    axis.tick_params(length=0)
    axis.set_frame_on(False)
    return _save(fig, path)


def plot_class_histogram(scores: GenerativeScores, path: Path) -> Path:
    """The judge's classes of the samples beside the real test images': a collapse shows as missing bars."""
    from matplotlib.figure import Figure

    from mastery.evaluation.plots import _save

    k = len(scores.classes)
    positions = np.arange(k)
    fig = Figure(figsize=(max(4, 0.6 * k), 3), layout="constrained")
    axis = fig.subplots()
    for offset, (values, label) in enumerate(((scores.real_labels, "real test images"), (scores.judged, "samples"))):
        axis.bar(positions + 0.4 * offset - 0.2, np.bincount(values, minlength=k) / len(values), width=0.4, label=label)
    axis.set_xticks(positions, scores.classes, fontsize=8)
    axis.set_ylabel("share")
    axis.set_title(f"Classes the judge reads (class spread {scores.metrics['class_spread']:.3f})", fontsize=9)
    axis.legend(fontsize=8)
    return _save(fig, path)
