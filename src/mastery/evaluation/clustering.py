"""How well clusters found without labels match the classes (textbook ch. 7, latent clustering).

Both scores read the contingency table of clusters against classes (K, C), which sums over
batches and ranks, so an epoch's figure is the whole split's, not a mean of per-batch ones.
Accuracy is the share of examples whose cluster, mapped one-to-one to a class by the
Hungarian algorithm on the table (the matching that maximises it), is their class (Xie et
al., 2016: ACC); NMI is the mutual information of clusters and classes over the arithmetic
mean of their entropies (scikit-learn's default), 1 for the same partition under any names.
Labels only score; no model is trained on them. The latent maps draw a bounded sample of
codes in two dimensions (PCA, t-SNE, UMAP), coloured by class.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
from torch import Tensor

from mastery.evaluation.reconstruction import PerImageScores

MAP_POINTS = 2_000  # codes a latent map draws: t-SNE and UMAP of more take too long for a figure
MAP_SEED = 0


def contingency(clusters: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """Examples per (cluster, class), both in [0, size): (size, size)."""
    table = np.zeros((size, size), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def matching(table: np.ndarray) -> np.ndarray:
    """The class each cluster stands for under the one-to-one matching that maximises the
    examples on the table's matched cells (Hungarian algorithm): (K,)."""
    from scipy.optimize import linear_sum_assignment

    clusters, classes = linear_sum_assignment(table, maximize=True)
    mapping = np.zeros(len(table), dtype=np.int64)
    mapping[clusters] = classes
    return mapping


def matched_accuracy(table: np.ndarray) -> float:
    """The share of examples on the best one-to-one matching of clusters to classes."""
    return float(table[np.arange(len(table)), matching(table)].sum() / table.sum())


def nmi(table: np.ndarray) -> float:
    """Normalised mutual information of clusters and classes, arithmetic normalisation."""
    from sklearn.metrics import mutual_info_score

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())

    rows, columns = entropy(table.sum(axis=1)), entropy(table.sum(axis=0))
    if rows == columns == 0:
        return 1.0  # one cluster, one class: the same partition
    return float(mutual_info_score(None, None, contingency=table) / ((rows + columns) / 2))


@dataclass
class ClusteringScores(PerImageScores):
    clusters: np.ndarray  # (N,) each example's cluster
    labels: np.ndarray  # (N,) its class
    size: int  # clusters = classes
    paired: ClassVar[tuple[str, ...]] = ("accuracy",)

    @cached_property
    def table(self) -> np.ndarray:
        return contingency(self.clusters, self.labels, self.size)

    @cached_property
    def per_image(self) -> dict[str, np.ndarray]:
        """Whether each example's matched cluster is its class: the accuracy's per-example scores."""
        return {"accuracy": (matching(self.table)[self.clusters] == self.labels).astype(np.float64)}

    @property
    def metrics(self) -> dict[str, float]:
        return super().metrics | {"nmi": nmi(self.table)}

    def report(self) -> dict:
        """The scores, the contingency table and the class each cluster was matched to."""
        return {**self.metrics, "examples": len(self.labels), "contingency": self.table.tolist(),
                "matched_class": matching(self.table).tolist()}


def map_sample(count: int) -> np.ndarray:
    """The same `MAP_POINTS` (or fewer) example indices of a split of `count` every call."""
    rng = np.random.default_rng(MAP_SEED)
    return np.sort(rng.choice(count, size=min(count, MAP_POINTS), replace=False))


def embeddings(codes: np.ndarray) -> dict[str, np.ndarray]:
    """The codes in two dimensions by PCA, t-SNE and UMAP, each seeded: (N, 2) each."""
    import umap
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    return {"PCA": PCA(2, random_state=MAP_SEED).fit_transform(codes),
            "t-SNE": TSNE(2, init="pca", random_state=MAP_SEED).fit_transform(codes),
            "UMAP": umap.UMAP(n_components=2, random_state=MAP_SEED, n_jobs=1).fit_transform(codes)}


def plot_latent_maps(codes: Tensor, labels: np.ndarray, classes: list[str], path: str | Path) -> Path:
    """PCA, t-SNE and UMAP of the codes side by side, each point coloured by its class."""
    from matplotlib.figure import Figure

    from mastery.evaluation.plots import _save

    maps = embeddings(codes.flatten(1).double().numpy())
    fig = Figure(figsize=(15, 5.4), layout="constrained")
    for ax, (name, points) in zip(fig.subplots(1, len(maps)), maps.items(), strict=True):
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5,
                             vmax=len(classes) - 0.5)
        ax.set(title=f"{name} of {len(labels):,} codes", xticks=[], yticks=[])
    fig.colorbar(scatter, ax=fig.axes, ticks=range(len(classes))).ax.set_yticklabels(classes)
    return _save(fig, path)
