"""The Fréchet distance and the judge it is measured with: the formula, its behaviour on a
singular covariance, a floor below every corrupted copy, and the sanity ladder."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import digits_split
from scipy.linalg import sqrtm

from mastery.errors import MasteryError
from mastery.evaluation.frechet import CORRUPTIONS, Judge, frechet_distance


def test_the_distance_is_the_gaussians_frechet_distance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 5)), rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5)) + 0.5
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.square(a.mean(0) - b.mean(0)).sum() + np.trace(cov_a + cov_b - 2 * sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(a, a + 3.0) == pytest.approx(5 * 9.0)  # a shift alone: its squared length


def test_a_singular_covariance_gives_a_finite_distance_without_warnings():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(300, 6))
    a[:, 2] = b[:, 2] = 0  # a dead unit in both
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = frechet_distance(a, b)
    assert np.isfinite(value) and value == pytest.approx(frechet_distance(np.delete(a, 2, 1), np.delete(b, 2, 1)))


def test_the_judge_reads_its_features_and_classes(digits_judge):
    judge = Judge(digits_judge)
    test = digits_split(slice(1500, None))
    features, probs = judge.read(test["image"])
    assert features.shape == (len(test["label"]), 64) and probs.shape == (len(test["label"]), 10)
    assert (probs.argmax(1) == test["label"].numpy()).mean() > 0.85
    with pytest.raises(MasteryError, match="train a judge on this dataset"):
        judge.check((1, 28, 28), judge.classes)


def test_every_rung_of_the_ladder_raises_the_distance_above_the_floor(digits_judge):
    """Real test vs real train is the floor; each corruption of the test images moves them away, more at each level."""
    judge = Judge(digits_judge)
    train, test = digits_split(slice(0, 1200))["image"], digits_split(slice(1500, None))["image"]
    reference = judge.read(train)[0]
    floor = frechet_distance(reference, judge.read(test)[0])
    for name, (corrupt, levels) in CORRUPTIONS.items():
        distances = [frechet_distance(reference, judge.read(corrupt(test, level, torch.Generator().manual_seed(0)))[0])
                     for level in levels]
        assert floor < distances[0] < distances[1] < distances[2], (name, floor, distances)
