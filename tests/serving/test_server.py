"""Serving end to end: a real uvicorn server on 127.0.0.1 over the ONNX export of a tiny real
quickstart run, MLflow on SQLite in a temporary directory, ONNX Runtime, SQLite's log.

One trained project for the module; the tests that move the champion or kill a server come
last, in file order.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import onnxruntime
import pytest
from conftest import ThreadServer, edit_yaml, free_port, tiny_project
from mlflow import MlflowClient
from typer.testing import CliRunner

from mastery.cli import app as cli
from mastery.data.prepare import PreparedData
from mastery.modalities import get_modality
from mastery.serving.app import API_KEY_HEADER, ServeConfig, create_app
from mastery.serving.model import ModelRefused, ModelSource, load_champion, load_served
from mastery.serving.prediction_log import find_request
from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.export import export
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.promote import promote, rollback
from mastery.steps.train import train
from mastery.steps.validate import validate
from mastery.tracking import aliases
from mastery.tracking.lineage import describe

KEY = "test-key"
AUTH = {API_KEY_HEADER: KEY}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """The quickstart pipeline, tiny, run from ingest to export: v1 is the exported champion."""
    with pytest.MonkeyPatch.context() as patch:
        tiny_project(tmp_path_factory.mktemp("serving"), patch)
        context = load_context("quickstart")
        for step in (ingest, validate, prepare, train, evaluate, promote, export):
            step(context)
        yield context


@pytest.fixture(scope="module")
def images(ctx) -> np.ndarray:
    return PreparedData.load(ctx.paths.prepared).splits["test"]["image"][:8].numpy()


@pytest.fixture(scope="module")
def server(ctx):
    """The app on a real uvicorn, in a thread; it looks at the champion alias every 0.2 s."""
    config = ServeConfig(
        source=ModelSource(ctx.spec.registered_model, ctx.paths.exports),
        log_path=ctx.paths.prediction_log,
        max_batch=16,
        poll_seconds=0.2,
        api_key=KEY,
    )
    with ThreadServer(create_app(config, load_champion(config.source))) as running:
        yield running


def post(server, body, headers=AUTH, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", json=body, headers=headers, timeout=30, **kwargs)


def batch(images: np.ndarray) -> dict:
    return {"image": images.tolist()}


def onnx_logits(path: Path, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"image": x.astype(np.float32)})[0]


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


# --- the API ---------------------------------------------------------------------------------


def test_predict_answers_as_the_exported_model_does(server, ctx, images):
    response = post(server, batch(images[:3]))
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"]) == (ctx.spec.registered_model, "1")
    assert response.headers["X-Model-Version"] == "1" and response.headers["X-Request-ID"] == body["request_id"]
    expected = softmax(onnx_logits(ctx.paths.exports / "model.onnx", images[:3]))
    got = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [p["class_index"] for p in body["predictions"]] == expected.argmax(1).tolist()
    assert [p["class_name"] for p in body["predictions"]] == [ctx.dataset.classes[i] for i in expected.argmax(1)]


def test_health_ready_and_metadata_name_the_verified_version(server, ctx):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/ready").json()
    assert ready == {"ready": True, "model": ctx.spec.registered_model, "version": "1", "champion_error": None}
    metadata = httpx.get(f"{server.url}/metadata").json()
    chain = describe(ctx.spec.registered_model)
    for key in ("version", "run_id", "data_hash", "params_hash", "git_commit", "onnx_sha256"):
        assert metadata[key] == chain[key], key
    assert metadata["contract"]["classes"] == list(ctx.dataset.classes)
    assert metadata["contract"]["inputs"] == [
        {"name": "image", "dtype": "float32", "shape": ["batch", 1, 8, 8], "min": 0.0, "max": 1.0}
    ]


def test_docs_show_the_schema_built_from_the_contract(server):
    assert httpx.get(f"{server.url}/docs").status_code == 200
    spec = httpx.get(f"{server.url}/openapi.json").json()
    images = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["image"]
    assert (images["minItems"], images["maxItems"]) == (1, 16)  # the batch
    pixel = images["items"]["items"]["items"]["items"]
    assert pixel == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    assert images["items"]["items"]["items"]["minItems"] == images["items"]["items"]["items"]["maxItems"] == 8
    assert {"PredictResponse", "ClassPrediction", "ErrorBody"} <= set(spec["components"]["schemas"])


def test_docs_render_offline_with_the_typed_schemas(server, tab):
    tab.open(f"{server.url}/docs", wait_for_text="/predict").wait_for_text("PredictResponse")
    tab.page.get_by_text("/predict").first.click()  # open the operation
    tab.wait_for_text("Request body").page.get_by_text("Schema", exact=True).first.click()
    tab.wait_for_text("array<array<array<array<number>>>>[1, 16] items")  # the batch limit, from the contract
    assert tab.blocked == [] and tab.errors == []  # Swagger UI came from web/node_modules


def test_metrics_count_requests_and_name_the_served_version(server, images):
    post(server, batch(images[:2]))
    post(server, {"image": []})
    text = httpx.get(f"{server.url}/metrics").text
    assert 'http_requests_total{handler="/predict",method="POST",status="200"}' in text
    assert 'http_requests_total{handler="/predict",method="POST",status="422"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'mastery_model_info{model="quickstart-digits"' in text and 'version="1"' in text
    assert 'mastery_predicted_examples_total{model="quickstart-digits",version="1"}' in text


def test_the_api_key_guards_predict_and_admin_only(server, images):
    assert post(server, batch(images[:1]), headers={}).status_code == 401
    assert post(server, batch(images[:1]), headers={API_KEY_HEADER: "wrong"}).status_code == 401
    assert httpx.post(f"{server.url}/admin/reload").status_code == 401
    assert httpx.get(f"{server.url}/ready").status_code == 200


# --- bad requests: a 4xx naming the field, never a 5xx ---------------------------------------


def pixels(value, columns=8) -> list:
    return [[[[value] * columns for _ in range(8)]]]


def raw(text: str) -> dict:
    return {"content": text.encode(), "headers": AUTH | {"content-type": "application/json"}}


BAD = {
    "wrong_shape": ({"json": {"image": pixels(0.5, columns=7)}}, 422, "image[0][0][0]", "too_short"),
    "wrong_dtype": ({"json": {"image": pixels("0.5")}}, 422, "image[0][0][0][0]", "float_type"),
    "nan": (raw(json.dumps({"image": pixels(float("nan"))})), 422, "image[0][0][0][0]", "finite_number"),
    "inf": (raw(json.dumps({"image": pixels(float("inf"))})), 422, "image[0][0][0][0]", "finite_number"),
    "out_of_range": ({"json": {"image": pixels(1.5)}}, 422, "image[0][0][0][0]", "less_than_equal"),
    "empty_batch": ({"json": {"image": []}}, 422, "image", "too_short"),
    "batch_over_limit": ({"json": {"image": pixels(0.5) * 17}}, 422, "image", "too_long"),
    "malformed_json": (raw('{"image": [[[0.5, 0.5'), 400, "body", "json_invalid"),
    "missing_field": ({"json": {"pixels": pixels(0.5)}}, 422, "image", "missing"),
    "unknown_field": ({"json": {"image": pixels(0.5), "label": 3}}, 422, "label", "extra_forbidden"),
}


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_request_gets_a_4xx_naming_the_field(server, kind):
    request, status, field, error_type = BAD[kind]
    request.setdefault("headers", AUTH)
    response = httpx.post(f"{server.url}/predict", timeout=30, **request)
    assert response.status_code == status, response.text
    first = response.json()["detail"][0]
    assert (first["field"], first["type"]) == (field, error_type), response.text
    assert first["message"]


def test_a_body_over_the_size_limit_gets_413_declared_or_streamed(server):
    too_big = b'{"image": [' + b"0.5, " * 100_000 + b"0.5]}"
    declared = post(server, None, content=too_big, headers=AUTH | {"content-type": "application/json"})
    assert declared.status_code == 413 and "over the limit" in declared.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    streamed = post(server, None, content=chunks(), headers=AUTH | {"content-type": "application/json"})
    assert streamed.status_code == 413 and "over the limit" in streamed.json()["detail"]


def test_a_body_that_is_not_json_gets_415(server):
    response = post(server, None, content=b"image=0.5", headers=AUTH | {"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415 and "application/json" in response.json()["detail"]


# --- verification: only the tagged bytes are served ------------------------------------------


def test_a_file_whose_sha256_differs_from_the_tag_is_refused(ctx, tmp_path):
    name = ctx.spec.registered_model
    source = ModelSource(name, tmp_path)  # a copy of the exports, to tamper with
    (tmp_path / "model.onnx").write_bytes((ctx.paths.exports / "model.onnx").read_bytes() + b"\0")
    served = load_served(source, "1")  # the local file is refused; the run's logged copy matches
    assert served.origin.startswith("runs:/") and served.origin.endswith("/onnx/model.onnx")

    client = MlflowClient()
    tag = client.get_model_version(name, "1").tags["onnx_sha256"]
    client.set_model_version_tag(name, "1", "onnx_sha256", "0" * 64)
    try:
        with pytest.raises(ModelRefused, match=r"model\.onnx: sha256 \w{12}\.\.\. is not v1's onnx_sha256 000000000000"):
            load_served(ModelSource(name, ctx.paths.exports), "1")
    finally:
        client.set_model_version_tag(name, "1", "onnx_sha256", tag)


def test_int8_serves_the_int8_file_under_its_own_tag(ctx, images):
    served = load_served(ModelSource(ctx.spec.registered_model, ctx.paths.exports, int8=True), "1")
    assert served.origin.endswith("model.int8.onnx")
    assert served.sha256 == describe(ctx.spec.registered_model)["onnx_int8_sha256"]
    logits = served.run({"image": images})["logits"]
    expected = onnx_logits(ctx.paths.exports / "model.onnx", images)
    assert (logits.argmax(1) == expected.argmax(1)).mean() >= 0.75


# --- the prediction log and lineage to the edge ----------------------------------------------


def test_every_example_is_logged_with_its_profile_and_leads_back_to_its_run(server, ctx, images):
    body = post(server, batch(images[:4])).json()
    rows = find_request(ctx.paths.prediction_log, body["request_id"])
    assert [r["example"] for r in rows] == [0, 1, 2, 3]
    assert {r["model_version"] for r in rows} == {"1"}
    assert [r["predicted_class"] for r in rows] == [p["class_index"] for p in body["predictions"]]
    np.testing.assert_allclose([r["confidence"] for r in rows], [p["confidence"] for p in body["predictions"]])
    profile = get_modality("image").profile(images[:4])  # what validation computes, on the same arrays
    for column, values in profile.items():
        assert [r[column] for r in rows] == pytest.approx(values.tolist()), column

    result = CliRunner().invoke(cli, ["lineage", "--request", body["request_id"], "-p", "quickstart"])
    assert result.exit_code == 0, result.output
    chain = describe(f"{ctx.spec.registered_model}/1")
    for key in ("run_id", "data_hash", "params_hash", "git_commit"):
        assert chain[key] in result.output, key
    assert "examples  4" in result.output


# --- hot swap and a killed server (these move the champion: last) ----------------------------


class SteadyLoad:
    """Threads posting one image each, back to back, recording every answer or failure."""

    def __init__(self, server, image: np.ndarray, threads: int = 4):
        self.url, self.body = f"{server.url}/predict", batch(image[None])
        self.answers, self.failures = [], []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        with httpx.Client(headers=AUTH, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    response = client.post(self.url, json=self.body)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text}")
                    continue
                self.answers.append(response.json())

    def wait_for(self, version: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(a["version"] == version for a in self.answers[-20:]):
            assert time.monotonic() < deadline, f"no answer from v{version} in {timeout} s"
            time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_hot_swap_through_a_promote_and_a_rollback_drops_no_request(server, ctx, images, tmp_path):
    name, client = ctx.spec.registered_model, MlflowClient()
    v1_file = tmp_path / "v1.onnx"
    v1_file.write_bytes((ctx.paths.exports / "model.onnx").read_bytes())
    with SteadyLoad(server, images[0]) as load:
        load.wait_for("1")
        # A different v2: one more epoch (the recipe changed, so it trains afresh).
        edit_yaml(ctx.paths.spec, lambda spec: spec["train"].update(epochs=3))
        context = load_context("quickstart")
        train(context)
        assert evaluate(context)["version"] == 2
        # The gate's verdict is the promotion tests' business; serving follows the alias. It moves
        # before export has run: the server refuses v2 (no tag yet) and keeps serving v1.
        aliases.promote(client, name, "2")
        refused = httpx.post(f"{server.url}/admin/reload", headers=AUTH)
        assert refused.status_code == 409 and "no 'onnx_sha256' tag" in refused.json()["error"]
        assert "no 'onnx_sha256' tag" in httpx.get(f"{server.url}/ready").json()["champion_error"]
        export(context)
        load.wait_for("2")  # the poller picked it up
        v2_file = tmp_path / "v2.onnx"
        v2_file.write_bytes((ctx.paths.exports / "model.onnx").read_bytes())

        rollback(context)
        reloaded = httpx.post(f"{server.url}/admin/reload", headers=AUTH)
        assert reloaded.status_code == 200 and reloaded.json()["version"] == "1"
        assert httpx.get(f"{server.url}/metadata").json()["file"].startswith("runs:/")  # exports/ holds v2
        load.wait_for("1")
        time.sleep(0.3)

    assert load.failures == []
    versions = [a["version"] for a in load.answers]
    phases = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
    assert phases[0] == "1" and "2" in phases and phases[-1] == "1", phases
    expected = {v: softmax(onnx_logits(path, images[:1]))[0] for v, path in (("1", v1_file), ("2", v2_file))}
    assert not np.allclose(expected["1"], expected["2"]), "v1 and v2 should answer differently"
    for answer in load.answers:  # each answer came from the version it names
        np.testing.assert_allclose(answer["predictions"][0]["probabilities"], expected[answer["version"]], atol=1e-5)
    for answer in load.answers[:: max(1, len(load.answers) // 50)]:
        assert find_request(ctx.paths.prediction_log, answer["request_id"])[0]["model_version"] == answer["version"]


def test_a_killed_server_keeps_every_answered_request_in_the_log(ctx, images):
    """`mastery serve` in its own process, killed with SIGKILL under load."""
    port = free_port()
    env = os.environ | {"MASTERY_API_KEY": KEY}
    command = [str(Path(sys.executable).parent / "mastery"), "serve", "-p", "quickstart", "--port", str(port), "--poll-seconds", "0"]
    process = subprocess.Popen(command, cwd=ctx.paths.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while not _ready(url):
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()[-2000:]
            time.sleep(0.2)
        with SteadyLoad(type("Server", (), {"url": url}), images[0]) as load:
            while len(load.answers) < 100:
                time.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    answered = [a["request_id"] for a in load.answers]
    assert len(answered) >= 100
    with sqlite3.connect(ctx.paths.prediction_log) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        logged = dict(db.execute(
            f"SELECT request_id, COUNT(*) FROM predictions WHERE request_id IN ({','.join('?' * len(answered))}) "
            "GROUP BY request_id", answered))
    assert logged == {request_id: 1 for request_id in answered}


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
