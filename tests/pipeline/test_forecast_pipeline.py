"""The forecast track end to end on elecdemand, shrunk to seconds: every step the doors call,
from ingest to an ONNX export whose inputs are a dynamic batch of any history length, served."""

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
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context

BASELINES = ("seasonal_naive_day", "seasonal_naive_week", "harmonic_regression")


def tiny(spec: dict) -> None:
    """A tiny GRU (two batches, one epoch) against the baselines that fit in a second (not ETS),
    a two-trial search, and a gate any of them passes."""
    spec["candidates"] = [{"name": "gru", "model": "gru_forecaster", "params": {"hidden": 8, "encode_steps": 48},
                           "train": {"epochs": 1, "max_batches": 2}},
                          *(c for c in spec["candidates"] if c["name"] in BASELINES)]
    spec["tune"] |= {"candidate": "gru", "trials": 2, "train": {"epochs": 1, "max_batches": 2},
                     "space": {"train.optimizer.lr": {"low": 1.0e-3, "high": 1.0e-2, "log": True}}}
    spec["gate"]["thresholds"] = {"test_mase": 5.0}


def test_every_step_runs_and_the_best_forecaster_is_exported(project):
    edit_yaml(project / "pipelines" / "forecast.yaml", tiny)
    ctx = load_context("forecast")
    results = {step.name: step.execute(ctx) for step in STEPS}
    summary = results["evaluate"]
    assert set(summary["candidates"]) == {"gru", *BASELINES}
    for scores in summary["candidates"].values():
        assert {"test_mase", "test_mape"} <= set(scores) and scores["test_mase"] > 0
    best = min(summary["candidates"], key=lambda name: json.loads((ctx.paths.candidate(name) / "run.json").read_text())["best"]["val_mase"])
    assert summary["selected"] == best
    assert json.loads(ctx.paths.metrics.read_text()).keys() == {"test_mase", "test_mape"}
    assert (ctx.paths.reports / best / "forecast.png").is_file()
    zoo = (ctx.paths.reports / "zoo.md").read_text()
    assert all(name in zoo for name in summary["candidates"])

    assert results["promote"]["promoted"] is True
    parity = json.loads((ctx.paths.exports / "parity.json").read_text())
    assert [check["passed"] for check in parity["checks"]] == [True]
    contract = Contract.from_json(read_metadata(ctx.paths.exports / "model.onnx")[CONTRACT_KEY])
    assert [(spec.name, spec.shape) for spec in contract.inputs] == [
        ("history", ("batch", "sequence", 5)), ("future", ("batch", 48, 4))]
    assert contract.outputs[0].shape == ("batch", 48)
    assert MlflowClient().get_registered_model(ctx.spec.registered_model).aliases.keys() == {"champion"}
    baselines_were_fitted_in_closed_form(ctx)
    the_server_answers_as_the_export_does(ctx)


def baselines_were_fitted_in_closed_form(ctx) -> None:
    """Epoch 0 only, and seasonal naive's validation MASE is the day-ago error it should be."""
    for name in BASELINES:
        history = json.loads((ctx.paths.candidate(name) / "history.json").read_text())
        assert [record["epoch"] for record in history] == [0]
    naive = json.loads((ctx.paths.candidate("seasonal_naive_day") / "run.json").read_text())["best"]
    stats = json.loads((ctx.paths.prepared / "stats.json").read_text())
    val = np.load(ctx.paths.prepared / "val_values.npy")[:, 0].astype(np.float64)
    assert stats["windows"]["val"] == 1344 - 48 + 1
    start = stats["history"]  # the steps before validation its first window looks back on
    expected = np.mean(np.abs(val[start:] - val[start - 48 : -48])) / stats["scale"]  # the day-ago error over val
    assert naive["val_mase"] == pytest.approx(expected, rel=0.05)


def the_server_answers_as_the_export_does(ctx) -> None:
    """`mastery serve` forecasts what the ONNX file computes, and a history shorter than the
    window the model trained on is the client's mistake (422 naming it), not a server error."""
    test = PreparedData.load(ctx.paths.prepared).splits["test"]
    inputs = {"history": test["history"][:3].numpy(), "future": test["future"][:3].numpy()}
    expected = onnx_predict(onnx_session(ctx.paths.exports / "model.onnx"), inputs)
    config = ServeConfig(ModelSource(ctx.spec.registered_model, ctx.paths.exports), ctx.paths.prediction_log,
                         poll_seconds=0)
    with ThreadServer(create_app(config, load_champion(config.source))) as server:
        answer = httpx.post(f"{server.url}/predict", json={k: v.tolist() for k, v in inputs.items()}, timeout=30)
        assert answer.status_code == 200, answer.text
        forecasts = [p["forecast"] for p in answer.json()["predictions"]]
        np.testing.assert_allclose(forecasts, expected, rtol=1e-5, atol=1e-6)
        short = {"history": inputs["history"][:, -47:].tolist(), "future": inputs["future"].tolist()}
        refused = httpx.post(f"{server.url}/predict", json=short, timeout=30)
        assert refused.status_code == 422, refused.text
        assert {e["field"] for e in refused.json()["detail"]} == {"history[0]", "history[1]", "history[2]"}
