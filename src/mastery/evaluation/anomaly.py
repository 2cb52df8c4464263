"""Anomaly detection by reconstruction error (textbook ch. 7): an autoencoder trained on one
kind of image draws those back well and others badly, so an image's reconstruction error is
its anomaly score.

The error is the mean squared error of the model's output against its input, on [0, 1]
pixels and clean inputs: the images as a client sends them, not under the task's judging
noise. The detection score is the ROC-AUC of normal images (the test split, label 0)
against a registered dataset's images (label 1): the chance that a random anomaly scores
above a random normal image, 0.5 for a score that cannot tell them apart, whatever the
threshold. The same per-image error is what the server logs for monitoring
(`mastery.serving.tasks`), so a drift check compares this score on traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np


def reconstruction_errors(images: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """The mean squared error of each reconstruction against its image: (N,) float64."""
    difference = np.asarray(reconstructed, dtype=np.float64) - np.asarray(images, dtype=np.float64)
    return np.square(difference).reshape(len(difference), -1).mean(axis=1)


@dataclass(frozen=True)
class AnomalyScores:
    normal: np.ndarray  # (N,) each normal test image's anomaly score
    anomalous: np.ndarray  # (M,) each anomaly's
    dataset: str  # the registered dataset the anomalies came from

    @cached_property
    def auc(self) -> float:
        """ROC-AUC of the scores, anomalies the positive class."""
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(*self.labelled()))

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) of every image, normal ones first: anomalies are 1."""
        labels = np.r_[np.zeros(len(self.normal)), np.ones(len(self.anomalous))]
        return labels, np.r_[self.normal, self.anomalous]

    def flat(self, prefix: str = "test_") -> dict[str, float]:
        return {f"{prefix}anomaly_auc": self.auc}

    def report(self) -> dict:
        """JSON-ready: the AUC, what it was measured on, and each side's median score."""
        return {"auc": self.auc, "anomalies": self.dataset, "normal_images": len(self.normal),
                "anomalous_images": len(self.anomalous), "normal_median_error": float(np.median(self.normal)),
                "anomalous_median_error": float(np.median(self.anomalous))}


def anomaly_scores(model, normal, anomalous, dataset: str, device=None) -> AnomalyScores:
    """A reconstruction model's errors on clean normal and anomalous images ((N, C, H, W) in [0, 1])."""
    from mastery.tasks import build_task
    from mastery.training.device import CPU
    from mastery.training.inference import predict

    clean = build_task("reconstruction", "image")  # no judging noise: the images as they are

    def errors(images) -> np.ndarray:
        return reconstruction_errors(images.numpy(), predict(model, clean, {"image": images}, device or CPU).numpy())

    return AnomalyScores(errors(normal), errors(anomalous), dataset)


def plot_anomaly_scores(scores: AnomalyScores, path: str | Path) -> Path:
    """The ROC curve with its AUC, beside both sides' histograms of the error (log scale: errors
    span decades)."""
    from sklearn.metrics import roc_curve

    from mastery.evaluation.plots import _figure, _save

    fig, (roc, histogram) = _figure(2, size=(10, 4))
    fpr, tpr, _ = roc_curve(*scores.labelled())
    roc.plot(fpr, tpr, label=f"AUC {scores.auc:.3f}")
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    roc.set(xlabel="false positive rate (normal flagged)", ylabel="true positive rate (anomaly flagged)",
            title=f"anomalies: {scores.dataset}")
    roc.legend(loc="lower right")
    both = np.r_[scores.normal, scores.anomalous]
    bins = np.geomspace(max(both.min(), 1e-8), both.max(), 50)
    histogram.hist(scores.normal, bins=bins, alpha=0.6, label=f"normal test images ({len(scores.normal):,})")
    histogram.hist(scores.anomalous, bins=bins, alpha=0.6, label=f"{scores.dataset} ({len(scores.anomalous):,})")
    histogram.set(xscale="log", xlabel="reconstruction error (MSE)", ylabel="images")
    histogram.legend()
    return _save(fig, path)
