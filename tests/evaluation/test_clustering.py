"""Clustering scores: Hungarian-matched accuracy is one-to-one (not each cluster's majority), NMI
is scikit-learn's, and the latent maps draw every code they are given."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from mastery.evaluation.clustering import (
    MAP_POINTS,
    ClusteringScores,
    contingency,
    map_sample,
    matched_accuracy,
    nmi,
    plot_latent_maps,
)


def labels(n: int = 300, classes: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, n)


def test_a_permuted_labelling_is_a_perfect_clustering():
    truth = labels()
    clusters = np.array([3, 0, 4, 1, 2])[truth]
    table = contingency(clusters, truth, 5)
    assert matched_accuracy(table) == 1.0
    assert nmi(table) == pytest.approx(1.0)


def test_matching_is_one_to_one_not_each_clusters_majority():
    # cluster 0: 4 of class 0, 3 of class 1; cluster 1: 3 of class 0. Majority vote would call
    # both clusters class 0 (7 right); one-to-one, 0 -> 1 and 1 -> 0 keeps 6 of 10, beating 0 -> 0 (4)
    clusters = np.array([0] * 7 + [1] * 3)
    truth = np.array([0] * 4 + [1] * 3 + [0] * 3)
    scores = ClusteringScores(clusters, truth, 2)
    assert matched_accuracy(scores.table) == pytest.approx(0.6)
    assert scores.per_example("accuracy").tolist() == [0.0] * 4 + [1.0] * 6
    assert scores.flat()["test_accuracy"] == pytest.approx(0.6)


def test_nmi_is_scikit_learns_and_near_zero_for_an_unrelated_clustering():
    truth, guess = labels(seed=1), labels(seed=2)
    assert nmi(contingency(guess, truth, 5)) == pytest.approx(normalized_mutual_info_score(truth, guess))
    assert nmi(contingency(guess, truth, 5)) < 0.05
    half = np.where(truth < 2, truth, guess)  # right on two classes, random on the rest
    assert nmi(contingency(half, truth, 5)) == pytest.approx(normalized_mutual_info_score(truth, half))


def test_the_report_holds_the_table_and_the_matching():
    report = ClusteringScores(np.array([1, 1, 0]), np.array([0, 0, 1]), 2).report()
    assert report["contingency"] == [[0, 1], [2, 0]] and report["matched_class"] == [1, 0]
    assert report["accuracy"] == 1.0 and report["examples"] == 3


def test_the_map_sample_is_bounded_fixed_and_distinct():
    assert len(map_sample(10 * MAP_POINTS)) == MAP_POINTS
    assert map_sample(10 * MAP_POINTS).tolist() == map_sample(10 * MAP_POINTS).tolist()
    assert map_sample(50).tolist() == list(range(50))


@pytest.mark.slow  # about 35 s: UMAP's first call in a process compiles its numba kernels
def test_latent_maps_draw_pca_tsne_and_umap(tmp_path):
    truth = labels(120, 3)
    codes = torch.randn(120, 6) + 4 * torch.nn.functional.one_hot(torch.from_numpy(truth), 6)
    path = plot_latent_maps(codes, truth, ["a", "b", "c"], tmp_path / "maps.png")
    assert path.stat().st_size > 10_000
