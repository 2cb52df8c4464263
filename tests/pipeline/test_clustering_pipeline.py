"""The clustering track end to end on 8x8 digits, shrunk to seconds: the autoencoder pipeline
trains what the clustering pipeline starts from, every clustering family is scored in one
harness (K-means on pixels and on codes as epoch 0), and evaluation logs the latent maps."""

from __future__ import annotations

import json

import pytest
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.errors import MasteryError
from mastery.steps.catalog import step_named
from mastery.steps.context import load_context

UP_TO_EVALUATE = ("ingest", "validate", "prepare", "train", "evaluate")


def tiny_autoencoder(spec: dict) -> None:
    spec["dataset"] = "digits"
    spec["train"] |= {"epochs": 2, "max_batches": 4, "batch_size": 32}
    spec["candidates"][0]["params"] |= {"code": 4, "channels": [8, 8]}


def tiny_clustering(spec: dict) -> None:
    spec["dataset"] = "digits"
    spec["train"] |= {"epochs": 2, "max_batches": 3, "batch_size": 64}
    for candidate in spec["candidates"]:
        if "widths" in candidate.get("params", {}):
            candidate["params"] |= {"code": 4, "widths": [8, 8]}
        if candidate.get("train", {}).get("epochs"):
            candidate["train"]["epochs"] = 2


def run(pipeline: str) -> dict:
    ctx = load_context(pipeline)
    return {name: step_named(name).execute(ctx) for name in UP_TO_EVALUATE}


@pytest.mark.slow  # about 2 minutes: two pipelines, five candidates, and UMAP compiles its kernels
def test_clustering_starts_from_the_trained_autoencoder_and_scores_every_family(project):
    edit_yaml(project / "pipelines" / "clustering_ae.yaml", tiny_autoencoder)
    edit_yaml(project / "pipelines" / "clustering.yaml", tiny_clustering)
    with pytest.raises(MasteryError, match="run `mastery train --pipeline clustering_ae` first"):
        run("clustering")
    run("clustering_ae")
    summary = run("clustering")["evaluate"]
    ctx = load_context("clustering")
    names = [c.name for c in ctx.spec.candidates]
    assert set(summary["candidates"]) == set(names)
    for scores in summary["candidates"].values():
        assert 0.1 < scores["test_accuracy"] <= 1 and 0 <= scores["test_nmi"] <= 1
    assert summary["candidates"]["kmeans_pixels"]["test_accuracy"] > 0.5  # 8x8 digits cluster on pixels
    for name in names:
        history = json.loads((ctx.paths.candidate(name) / "history.json").read_text())
        assert history[0]["epoch"] == 0  # the centres fitted in closed form, scored before any step
        assert len(history) == 1 + ctx.spec.candidate(name).train.epochs
    assert ctx.spec.candidate("n2d_dec").train.augmentation.shift > 0  # DEC-DA's views, through the trainer
    idec = json.loads((ctx.paths.candidate("idec") / "history.json").read_text())
    assert all(record["train_reconstruction"] > 0 for record in idec[1:])
    maps = ctx.paths.reports / summary["selected"] / "latent_maps.png"
    assert maps.is_file() and maps.stat().st_size > 10_000
    run_id = json.loads((ctx.paths.candidate(summary["selected"]) / "run.json").read_text())["run_id"]
    assert "evaluation/latent_maps.png" in [f.path for f in MlflowClient().list_artifacts(run_id, "evaluation")]
