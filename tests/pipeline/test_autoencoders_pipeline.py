"""The autoencoder track end to end on digits, shrunk to seconds: every step the doors call,
reconstruction grids on each epoch's run, the scores beside both baselines and an anomaly AUC,
the gate on PSNR's paired bootstrap, an ONNX export that denoises any batch, and a server that
answers with images and logs each one's reconstruction error."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from conftest import ThreadServer, edit_yaml
from mlflow import MlflowClient

from mastery.data.prepare import PreparedData
from mastery.export import CONTRACT_KEY, onnx_predict, onnx_session, read_metadata
from mastery.export.contract import Contract
from mastery.serving.app import ServeConfig, create_app
from mastery.serving.model import ModelSource, load_champion
from mastery.serving.prediction_log import find_request
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context

CANDIDATES = ("sparse_ae", "denoising_ae")  # an MLP with a penalised code, a conv net trained on noise


def tiny(spec: dict) -> None:
    """8x8 digits, two epochs of a few batches, small codes, a gate any of them passes."""
    spec["dataset"] = "digits"
    spec["task"]["anomalies"] = "digits"  # the normal images themselves: a detector at chance
    spec["candidates"] = [c for c in spec["candidates"] if c["name"] in CANDIDATES]
    spec["train"] |= {"epochs": 2, "max_batches": 4, "batch_size": 32}
    for candidate in spec["candidates"]:
        candidate["params"]["code"] = 8
    spec["gate"]["thresholds"] = {"test_psnr": 5.0}


@pytest.mark.long  # about 40 s: nine steps, an ONNX export and its int8 parity
def test_every_step_runs_and_the_denoiser_is_judged_beside_both_baselines(project):
    edit_yaml(project / "pipelines" / "autoencoders.yaml", tiny)
    ctx = load_context("autoencoders")
    results = {step.name: step.execute(ctx) for step in STEPS}
    summary = results["evaluate"]
    assert set(summary["candidates"]) == set(CANDIDATES)
    noisy, median = summary["test_psnr_noisy"], summary["test_psnr_median3"]
    for scores in summary["candidates"].values():  # one noisy test set for every candidate
        assert (scores["test_psnr_noisy"], scores["test_psnr_median3"]) == (noisy, median)
        assert 0 < scores["test_ssim"] < 1 and scores["test_psnr"] > 0
    assert 5 < noisy < 30 and 5 < median < 30 and noisy != median  # (on 8x8 digits a 3x3 median blurs strokes away)
    metrics = json.loads(ctx.paths.metrics.read_text())
    assert metrics.keys() == {"test_psnr", "test_ssim", "test_anomaly_auc"}
    assert 0.4 < metrics["test_anomaly_auc"] < 0.6  # digits as anomalies are scaled to [0, 1] as the test digits are
    assert {f.name for f in (ctx.paths.reports / summary["selected"]).iterdir()} >= {"reconstructions.png", "anomalies.png"}
    assert "test psnr" in (ctx.paths.reports / "zoo.md").read_text()
    sparse = json.loads((ctx.paths.candidate("sparse_ae") / "history.json").read_text())
    assert all(record["train_penalty"] > 0 for record in sparse)
    each_epoch_draws_its_reconstructions(ctx)

    promotion = results["promote"]
    assert promotion["promoted"] is True
    checks = json.loads(ctx.paths.promotion.read_text())["decision"]["checks"]
    assert [c["name"] for c in checks] == ["threshold test_psnr"]
    parity = json.loads((ctx.paths.exports / "parity.json").read_text())
    assert [(c["metric"], c["passed"]) for c in parity["checks"]] == [("test_psnr", True), ("test_psnr", True)]
    contract = Contract.from_json(read_metadata(ctx.paths.exports / "model.onnx")[CONTRACT_KEY])
    assert contract.task == "reconstruction" and contract.outputs[0].shape == ("batch", 1, 8, 8)
    the_server_answers_with_the_exports_images(ctx)


def each_epoch_draws_its_reconstructions(ctx) -> None:
    client = MlflowClient()
    for name in CANDIDATES:
        run_id = json.loads((ctx.paths.candidate(name) / "run.json").read_text())["run_id"]
        figures = [f.path for f in client.list_artifacts(run_id, "reconstructions")]
        assert figures == ["reconstructions/epoch-0001.png", "reconstructions/epoch-0002.png"]


def the_server_answers_with_the_exports_images(ctx) -> None:
    test = PreparedData.load(ctx.paths.prepared).splits["test"]
    images = test["image"][:3].numpy()
    expected = onnx_predict(onnx_session(ctx.paths.exports / "model.onnx"), {"image": images})
    config = ServeConfig(ModelSource(ctx.spec.registered_model, ctx.paths.exports), ctx.paths.prediction_log,
                         poll_seconds=0)
    with ThreadServer(create_app(config, load_champion(config.source))) as server:
        answer = httpx.post(f"{server.url}/predict", json={"image": images.tolist()}, timeout=30)
        assert answer.status_code == 200, answer.text
        drawn = [p["reconstruction"] for p in answer.json()["predictions"]]
    np.testing.assert_allclose(drawn, expected, rtol=1e-5, atol=1e-6)
    assert np.asarray(drawn).shape == (3, 1, 8, 8)
    logged = [row["reconstruction_error"] for row in find_request(ctx.paths.prediction_log, answer.json()["request_id"])]
    assert logged == pytest.approx(np.square(expected - images).mean(axis=(1, 2, 3)), rel=1e-5)  # the anomaly score

