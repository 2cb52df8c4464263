"""Anomaly detection by reconstruction error: the AUC is what it claims for models whose errors
are known, it reaches the reconstruction scores, and a spec's anomalies must be images its
models can read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import edit_yaml
from torch import nn

from mastery.config import ConfigError
from mastery.evaluation.anomaly import AnomalyScores, anomaly_scores, plot_anomaly_scores
from mastery.evaluation.reconstruction import ReconstructionScores
from mastery.steps.context import load_context


class TopHalf(nn.Module):
    """Draws back the top half of an image and blacks out the rest: a perfect copy of images
    that live in the top half, a bad one of any other."""

    def forward(self, image):  # (B, C, H, W)
        return image * (torch.arange(image.shape[-2]) < image.shape[-2] // 2)[:, None]


def halves(n: int, top: bool, seed: int) -> torch.Tensor:
    """Random [0, 1] images, black except in the top half (or the bottom one)."""
    images = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    rows = torch.arange(8) < 4
    return images * (rows if top else ~rows)[:, None]


def test_a_model_that_copies_normals_and_not_anomalies_separates_them_perfectly(tmp_path):
    normal, anomalous = halves(30, top=True, seed=0), halves(20, top=False, seed=1)
    scores = anomaly_scores(TopHalf(), normal, anomalous, "bottoms")
    assert scores.normal.max() == 0 and scores.anomalous.min() > 0.05
    assert scores.auc == 1.0
    assert anomaly_scores(TopHalf(), anomalous, normal, "tops").auc == 0.0  # the score points one way
    assert plot_anomaly_scores(scores, tmp_path / "anomalies.png").stat().st_size > 0


def test_a_score_that_cannot_tell_them_apart_is_chance():
    assert AnomalyScores(np.full(30, 0.2), np.full(20, 0.2), "same").auc == 0.5
    normal, anomalous = halves(30, top=True, seed=0), halves(20, top=False, seed=1)
    assert anomaly_scores(nn.Identity(), normal, anomalous, "copied").auc == 0.5  # every error is zero


def test_the_reconstruction_scores_carry_the_auc_where_anomalies_were_scored():
    images = halves(4, top=True, seed=0)
    plain = ReconstructionScores(clean=images, noisy=images, reconstructed=images * 0.5, noise_std=0.0)
    assert "test_anomaly_auc" not in plain.flat() and "anomaly" not in plain.report()
    scored = dataclasses.replace(plain, anomaly=AnomalyScores(np.array([0.1, 0.3]), np.array([0.2, 0.4]), "x"))
    assert scored.flat()["test_anomaly_auc"] == 0.75  # of the four pairs, (0.3, 0.2) is the wrong way round
    assert scored.report()["anomaly"]["anomalies"] == "x"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda spec: spec["task"].update(anomalies="mnist_subst"), "'mnist_subst' is not a registered dataset; datasets: "),
    (lambda spec: spec.update(dataset="digits"), "its samples (image 1x28x28) are not what models of 'digits' read (image 1x8x8)"),
])
def test_a_spec_naming_anomalies_its_models_cannot_read_is_refused_at_load(project, edit, message):
    edit_yaml(project / "pipelines" / "autoencoders.yaml", edit)
    with pytest.raises(ConfigError, match="task.anomalies") as error:
        load_context("autoencoders")
    assert message in str(error.value)
    assert "mnist_subset" in str(error.value)


def test_only_a_reconstruction_task_scores_anomalies(project):
    edit_yaml(project / "pipelines" / "quickstart.yaml",
              lambda spec: spec.update(task={"name": "classification", "anomalies": "digits"}))
    with pytest.raises(ConfigError, match="only a reconstruction task scores anomalies, not 'classification'"):
        load_context("quickstart")
