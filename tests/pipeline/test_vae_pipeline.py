"""The VAE track end to end on digits, shrunk to seconds: the steps up to promotion, samples
from the same prior noise on each epoch's run, the bound and the importance-sampled NLL on the
test split, the four evaluation figures, and the gate on the NLL's paired bootstrap."""

from __future__ import annotations

import json

import pytest
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context

STEPS_RUN = ("ingest", "validate", "prepare", "train", "evaluate", "promote")  # export: see the spec
FIGURES = ("reconstructions.png", "samples.png", "traversal.png", "interpolation.png")


def tiny(spec: dict) -> None:
    """8x8 digits, two epochs of a few batches, a small code, few importance samples."""
    spec["dataset"] = "digits"
    spec["task"] |= {"nll_samples": 20, "beta_warmup_steps": 4}
    spec["train"] |= {"epochs": 2, "max_batches": 4, "batch_size": 32}
    for candidate in spec["candidates"]:
        candidate["params"] |= {"latent": 4, "hidden": [32]}
    spec["gate"]["thresholds"] = {"test_nll": 60.0}  # nats for 64 pixels: a coin per pixel is 44


def test_the_steps_run_and_the_vae_is_judged_on_its_importance_sampled_nll(project):
    edit_yaml(project / "pipelines" / "vae.yaml", tiny)
    ctx = load_context("vae")
    results = {step.name: step.execute(ctx) for step in STEPS if step.name in STEPS_RUN}
    scores = results["evaluate"]["candidates"]["mlp_vae"]
    assert 0 < scores["test_nll"] <= scores["test_neg_elbo"] < 60
    assert scores["test_neg_elbo"] == pytest.approx(scores["test_recon"] + scores["test_kl"])
    assert json.loads(ctx.paths.metrics.read_text()).keys() == {"test_nll", "test_neg_elbo"}
    assert all((ctx.paths.reports / "mlp_vae" / name).is_file() for name in FIGURES)
    history = json.loads((ctx.paths.candidate("mlp_vae") / "history.json").read_text())
    assert all(r["val_loss"] == r["val_neg_elbo"] for r in history)  # the spec's beta is 1
    run_id = json.loads((ctx.paths.candidate("mlp_vae") / "run.json").read_text())["run_id"]
    figures = [f.path for f in MlflowClient().list_artifacts(run_id, "samples")]
    assert figures == ["samples/epoch-0001.png", "samples/epoch-0002.png"]
    assert results["promote"]["promoted"] is True
    checks = json.loads(ctx.paths.promotion.read_text())["decision"]["checks"]
    assert [c["name"] for c in checks] == ["threshold test_nll"]
