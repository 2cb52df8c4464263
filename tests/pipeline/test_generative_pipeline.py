"""The generative track end to end on 8x8 digits, shrunk to seconds: a judge trained by the
mnist pipeline's steps, a conditional DCGAN through every step the doors call, sample grids on
each epoch's run, judged scores, an ONNX export that draws the class asked for, a server that
answers with images, `mastery generate`'s grid, and a gate that keeps a worse generator out."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import torch
from conftest import ThreadServer, edit_yaml
from mlflow import MlflowClient
from PIL import Image

from mastery.errors import MasteryError
from mastery.evaluation.frechet import Judge
from mastery.export import onnx_predict, onnx_session
from mastery.serving.app import ServeConfig, create_app
from mastery.serving.model import ModelSource, load_champion
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context
from mastery.steps.generate import generate

DATA_STEPS = ("ingest", "validate", "prepare", "train")


def tiny_judge(spec: dict) -> None:
    spec["dataset"] = "digits"
    spec["candidates"] = [{"name": "mlp", "model": "mlp", "params": {"hidden": [64]}}]
    spec["train"] |= {"epochs": 10, "augmentation": {}}


def tiny_generator(epochs: int, max_batches: int | None):
    def edit(spec: dict) -> None:
        spec["dataset"] = "digits"
        spec["task"] |= {"judge": "models/mnist/mlp", "latent": 16}
        spec["train"] |= {"epochs": epochs, "max_batches": max_batches, "batch_size": 32,
                          "optimizer": {"name": "adam", "lr": 2.0e-3, "beta1": 0.5}}
        spec["candidates"][0]["params"] = {"width": 16}
        spec["gate"]["thresholds"] = {"test_judged_accuracy": 0.5}

    return edit


@pytest.mark.long  # about 60 s: a judge, a generator trained twice, an ONNX export, a server
def test_a_generator_is_judged_shipped_served_and_a_worse_one_kept_out(project):
    edit_yaml(project / "pipelines" / "mnist.yaml", tiny_judge)
    judge_ctx = load_context("mnist")
    for step in STEPS:
        if step.name in DATA_STEPS:
            step.execute(judge_ctx)
    edit_yaml(project / "pipelines" / "generative.yaml", tiny_generator(epochs=6, max_batches=None))
    ctx = load_context("generative")
    results = {step.name: step.execute(ctx) for step in STEPS}

    summary = results["evaluate"]
    assert summary["test_judged_accuracy"] > 0.5 and summary["test_frechet"] > 0 and 0 < summary["test_class_spread"] <= 1.05
    assert json.loads(ctx.paths.metrics.read_text()).keys() == {"test_judged_accuracy", "test_frechet", "test_class_spread"}
    for figure in ("samples.png", "class_histogram.png"):
        assert (ctx.paths.reports / "cdcgan" / figure).is_file()
    run_id = json.loads((ctx.paths.candidate("cdcgan") / "run.json").read_text())["run_id"]
    grids = [f.path for f in MlflowClient().list_artifacts(run_id, "samples")]
    assert grids == [f"samples/epoch-{epoch:04d}.png" for epoch in range(1, 7)]
    assert results["promote"]["promoted"] is True
    parity = json.loads((ctx.paths.exports / "parity.json").read_text())
    assert [(c["metric"], c["passed"]) for c in parity["checks"]] == [("test_judged_accuracy", True)]

    the_export_draws_the_class_asked_for(ctx, summary["test_judged_accuracy"])
    the_server_answers_with_images_and_refuses_a_class_it_does_not_know(ctx)
    generate_writes_a_grid_of_the_class(ctx)

    edit_yaml(project / "pipelines" / "generative.yaml", tiny_generator(epochs=1, max_batches=1))
    ctx = load_context("generative")
    for step in STEPS:
        if step.name in ("train", "evaluate", "promote"):
            outcome = step.execute(ctx)
    assert outcome["promoted"] is False and outcome["champion_after"] == "1"
    checks = {c["name"]: c["passed"] for c in outcome["decision"]["checks"]}
    assert checks == {"threshold test_judged_accuracy": False, "improvement test_judged_accuracy": False,
                      "significance (McNemar)": False}


def the_export_draws_the_class_asked_for(ctx, judged: float) -> None:
    """The ONNX file alone (noise and classes in, images out) draws digits the judge reads as asked."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 30)
    feeds = {"noise": rng.standard_normal((300, 16), dtype=np.float32), "label": labels}
    images = onnx_predict(onnx_session(ctx.paths.exports / "model.onnx"), feeds)
    assert images.shape == (300, 1, 8, 8) and 0 <= images.min() and images.max() <= 1
    read = Judge("models/mnist/mlp").read(torch.from_numpy(images))[1].argmax(1)
    assert (read == labels).mean() > 0.5


def the_server_answers_with_images_and_refuses_a_class_it_does_not_know(ctx) -> None:
    config = ServeConfig(ModelSource(ctx.spec.registered_model, ctx.paths.exports), ctx.paths.prediction_log,
                         poll_seconds=0)
    noise = np.random.default_rng(2).standard_normal((2, 16)).tolist()
    with ThreadServer(create_app(config, load_champion(config.source))) as server:
        answer = httpx.post(f"{server.url}/predict", json={"noise": noise, "label": [3, 7]})
        assert answer.status_code == 200, answer.text
        drawn = np.array([item["image"] for item in answer.json()["predictions"]])
        assert drawn.shape == (2, 1, 8, 8)
        refused = httpx.post(f"{server.url}/predict", json={"noise": noise, "label": [3, 10]})
        assert refused.status_code == 422 and "label" in refused.text
        assert httpx.post(f"{server.url}/predict", json={"noise": noise}).status_code == 422


def generate_writes_a_grid_of_the_class(ctx) -> None:
    result = generate(ctx, label=3, count=16, seed=5)
    assert result["version"] == 1 and result["count"] == 16
    grid = np.asarray(Image.open(result["path"]))
    assert grid.ndim == 3 and grid.std() > 0
    assert generate(ctx, label=3, count=16, seed=5, out=ctx.paths.reports / "again.png")["onnx_sha256"] == result["onnx_sha256"]
    assert np.array_equal(np.asarray(Image.open(ctx.paths.reports / "again.png")), grid)
    with pytest.raises(MasteryError, match="classes 0..9"):
        generate(ctx, label=12)
