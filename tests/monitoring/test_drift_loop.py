"""The drift loop at quickstart scale, for real: MLflow on SQLite, the Prefect flows on a test
API, real uvicorn, ONNX Runtime and Evidently.

serve v1 -> washed-out digits as traffic -> `mastery monitor` says drift, naming the columns
-> the drift flow admits the labelled batch, ingest sees the new source content, the training
flow retrains -> the gate judges v2 against v1 -> promoted -> the running server answers v2.
One project for the module; the tests that move the champion come last, in file order.
"""

import json
import time

import httpx
import numpy as np
import pytest
from conftest import ThreadServer, dvc, edit_yaml, tiny_project, with_dvc
from flows.monitoring import drift_flow
from flows.training import training_flow
from mlflow import MlflowClient
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from mastery.cli import app as cli
from mastery.data.prepare import PreparedData
from mastery.monitoring.observe import observe
from mastery.monitoring.tables import parse_since
from mastery.serving.app import ServeConfig, create_app
from mastery.serving.model import ModelSource, load_champion
from mastery.serving.prediction_log import find_request
from mastery.steps.catalog import step_named
from mastery.steps.context import load_context


def washed_out(pixels: np.ndarray) -> np.ndarray:
    """Raw digits (0..16) as a worn camera would give them: half the contrast, a grey floor."""
    return np.round(pixels * 0.5 + 4).astype(np.uint8)


def small_quickstart(spec: dict) -> None:
    """No search, and enough training (5 epochs of every batch, seconds for the MLP) that a model
    trained on the new data clearly beats the champion on it."""
    spec.update(tune=None)
    spec["train"].update(epochs=5, max_batches=None)


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_api):
    """quickstart trained by the training flow: v1 is the exported champion. Not a DVC workspace
    (every step runs: DVC's bookkeeping would double the module's time); the new-batch test
    below checks the DVC door on its own workspace."""
    with pytest.MonkeyPatch.context() as patch:
        root = tiny_project(tmp_path_factory.mktemp("drift"), patch)
        edit_yaml(root / "pipelines" / "quickstart.yaml", small_quickstart)
        state = training_flow("quickstart", str(root), return_state=True)
        assert state.is_completed(), state
        yield root


@pytest.fixture(scope="module")
def ctx(project):
    return load_context("quickstart")


@pytest.fixture(scope="module")
def server(ctx):
    config = ServeConfig(ModelSource(ctx.spec.registered_model, ctx.paths.exports), ctx.paths.prediction_log,
                         max_batch=64, poll_seconds=0.2)
    with ThreadServer(create_app(config, load_champion(config.source))) as running:
        yield running


@pytest.fixture(scope="module")
def raw_digits(ctx) -> dict[str, np.ndarray]:
    """The prepared splits' raw pixels and labels, as a source batch holds them."""
    prepared = ctx.paths.prepared
    return {f"{split}_{name}": np.load(prepared / f"{split}_{name}.npy") for split in ("train", "test")
            for name in ("image", "label")}


def post(server, pixels: np.ndarray) -> dict:
    """A batch of raw digits, sent as a client does: pixels / 16."""
    response = httpx.post(f"{server.url}/predict", json={"image": (pixels / 16).tolist()}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_batch_is_new_source_content_in_both_doors(tmp_path, monkeypatch):
    """Ingest depends on incoming/: DVC sees a new batch, and so the flow and the CLI (whose
    "done" is DVC's); taken away again, ingest is done again. (First: its own workspace.)"""
    root = with_dvc(tiny_project(tmp_path, monkeypatch))
    ingest, ctx = step_named("ingest"), load_context("quickstart")
    ingest.execute(ctx)
    assert ingest.is_done(ctx)
    batch = ctx.paths.incoming / "probe.npz"
    batch.parent.mkdir()
    digits = load_digits()
    np.savez(batch, image=digits.images[:3, None].astype(np.uint8), label=digits.target[:3])
    assert not ingest.is_done(ctx)
    status = dvc(root, "status", "ingest@quickstart")
    assert "modified:           incoming" in status.stdout, status.stdout
    assert ingest.execute(ctx)["incoming_rows"] == 3 and ingest.is_done(ctx)
    batch.unlink()
    assert not ingest.is_done(ctx)


def test_monitoring_observes_examples_as_the_server_logged_them(server, ctx, raw_digits):
    """Reference and traffic are compared like with like: the same columns, the same values."""
    body = post(server, raw_digits["test_image"][:8])
    logged = find_request(ctx.paths.prediction_log, body["request_id"])
    model = load_champion(ModelSource(ctx.spec.registered_model, ctx.paths.exports))
    inputs = PreparedData.load(ctx.paths.prepared, splits=("test",)).splits["test"]["image"][:8].numpy()
    observed = observe(model, {"image": inputs})
    for column in observed.columns:
        assert [row[column] for row in logged] == pytest.approx(observed[column].tolist()), column


def test_monitor_keeps_quiet_on_clean_files_and_names_what_moved_in_shifted_ones(project, raw_digits, tmp_path):
    clean, shifted = tmp_path / "clean.npz", tmp_path / "shifted.npz"
    np.savez(clean, image=raw_digits["train_image"][:600])  # unlabelled, never in the reference
    np.savez(shifted, image=washed_out(raw_digits["train_image"][:600]))

    quiet = CliRunner().invoke(cli, ["monitor", "-p", "quickstart", "--files", str(clean), "--fail-on-drift"])
    assert quiet.exit_code == 0, quiet.output
    assert "no drift" in quiet.output and "600 rows vs 575 reference rows" in quiet.output

    loud = CliRunner().invoke(cli, ["monitor", "-p", "quickstart", "-f", str(shifted), "--fail-on-drift"])
    assert loud.exit_code == 2, loud.output
    verdict = json.loads((project / "reports" / "monitoring" / "quickstart" / "verdict.json").read_text())
    assert verdict["drift"] is True and {"min", "max"} <= set(verdict["drifted"])
    assert verdict["current"]["files"] == [str(shifted)] and verdict["reference"]["is_training_data"] is True
    assert f"DRIFT in {len(verdict['drifted'])}/5 columns: " in loud.output

    run = MlflowClient().get_run(verdict_run(project))
    assert run.data.tags["drift"] == "true" and run.data.metrics["drift"] == 1.0
    assert run.data.metrics["drift_score/min"] >= 0.1
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "monitoring")}
    assert artifacts == {"monitoring/drift.html", "monitoring/evidently.json", "monitoring/verdict.json"}


def verdict_run(project) -> str:
    runs = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("mastery/quickstart-monitoring").experiment_id],
                                      order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0].info.run_id


def test_drift_retrains_through_the_gate_and_the_server_answers_with_the_new_champion(server, ctx, raw_digits, tmp_path):
    name = ctx.spec.registered_model
    since = parse_since("0s")
    for start in range(0, 640, 64):  # washed-out traffic, answered by v1
        assert post(server, washed_out(raw_digits["test_image"][start % 300 : start % 300 + 64]))["version"] == "1"
    labelled = tmp_path / "washed-out-digits.npz"  # the same kind of images, labelled since
    images = np.concatenate([raw_digits["train_image"], raw_digits["test_image"]])
    labels = np.concatenate([raw_digits["train_label"], raw_digits["test_label"]])
    np.savez(labelled, image=washed_out(images), label=labels)

    state = drift_flow("quickstart", str(ctx.paths.root), since=since, new_data=[str(labelled)], return_state=True)
    assert state.is_completed(), state
    outcome = state.result(_sync=True)  # sync even where another library left an event loop running
    assert outcome["drift"] is True and {"min", "max"} <= set(outcome["drifted"]), outcome
    assert outcome["retrained"] and outcome["new_data"] == [str(ctx.paths.incoming / labelled.name)]
    raw = json.loads((ctx.paths.raw / "header.json").read_text())
    assert raw["incoming_rows"] == len(images)  # ingest ran on the new content
    promotion = json.loads(ctx.paths.promotion.read_text())
    assert promotion["challenger"] == "2" and promotion["champion_before"] == "1"
    assert outcome["promoted"] is True and outcome["champion"] == "2", promotion["summary"]  # the gate's decision
    checks = {check["name"]: check for check in promotion["decision"]["checks"]}
    assert checks["significance (McNemar)"]["passed"], promotion["summary"]  # v2 beat v1 on the same examples
    assert MlflowClient().get_registered_model(name).aliases["champion"] == 2

    answered = None
    for _ in range(150):  # the server looks at the alias every 0.2 s
        answered = post(server, washed_out(raw_digits["test_image"][:1]))["version"]
        if answered == "2":
            break
        time.sleep(0.2)
    assert answered == "2"

    # v2 has answered one request: too few rows to judge, so no retrain
    again = drift_flow("quickstart", str(ctx.paths.root), return_state=True).result(_sync=True)
    assert again["drift"] is None and again["retrained"] is False and again["version"] == "2"
