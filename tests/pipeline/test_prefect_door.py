"""The Prefect door: the same steps, the same model as `dvc repro`, and cached re-runs."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import dvc, edit_yaml
from flows.training import training_flow
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.testing.utilities import prefect_test_harness
from safetensors.torch import load_file
from typer.testing import CliRunner

from mastery.cli import app
from mastery.export import read_metadata
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.validate import validate
from mastery.tracking.lineage import data_hash, describe, file_digest


@pytest.fixture(scope="module", autouse=True)
def prefect_api(tmp_path_factory):
    """One throwaway Prefect API and result store for the module (start-up costs ~15 s)."""
    storage = tmp_path_factory.mktemp("prefect-results")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))
        with prefect_test_harness(server_startup_timeout=120):  # 30 s is short on a busy 2-core machine
            yield


def task_states(flow_state) -> dict[str, str]:
    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def test_flow_runs_every_step_then_skips_them_all(project):
    first = training_flow("quickstart", str(project), return_state=True)
    assert first.is_completed(), first
    assert set(task_states(first).values()) == {"Completed"}
    assert len(task_states(first)) == len(STEPS)
    client = MlflowClient()
    assert client.get_registered_model("quickstart-digits").aliases["champion"] == 1
    chain = describe("quickstart-digits")  # what `mastery lineage quickstart-digits` prints
    exports = project / "exports" / "quickstart"
    assert chain["aliases"] == ["champion"] and chain["version"] == "1"
    assert chain["onnx_sha256"] == file_digest(exports / "model.onnx", "sha256")
    assert chain["onnx_int8_sha256"] == file_digest(exports / "model.int8.onnx", "sha256")
    assert chain["data_hash"] == data_hash(project / "data" / "quickstart" / "prepared")
    assert read_metadata(exports / "model.int8.onnx")["run_id"] == chain["run_id"]
    parity = json.loads((exports / "parity.json").read_text())
    assert [c["name"] for c in parity["checks"]] == ["onnx", "onnx_int8"] and all(c["passed"] for c in parity["checks"])

    second = training_flow("quickstart", str(project), return_state=True)
    assert second.is_completed()
    assert set(task_states(second).values()) == {"Cached"}
    assert len(client.search_model_versions("name='quickstart-digits'")) == 1


def test_a_missing_output_reruns_its_step_and_what_follows_it(project):
    assert CliRunner().invoke(app, ["flow", "run", "quickstart"]).exit_code == 0  # `mastery flow run`
    shutil.rmtree(project / "models" / "quickstart")
    states = task_states(training_flow("quickstart", str(project), return_state=True))
    assert [states[s.name] for s in STEPS[:3]] == ["Cached"] * 3
    assert states["train"] == "Completed" and states["evaluate"] == "Completed"


def test_failed_validation_fails_the_flow_with_the_named_cause(project):
    training_flow("quickstart", str(project))  # a good run first: outputs and cache exist
    labels = project / "data" / "quickstart" / "raw" / "labels.npy"
    corrupt = np.load(labels)
    corrupt[5] = 11
    np.save(labels, corrupt)
    shutil.rmtree(project / "reports" / "validation")  # as after a fresh ingest of bad data
    state = training_flow("quickstart", str(project), return_state=True)
    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    assert "digits" in message and "column 'label'" in message and "expect_column_values_to_be_in_set" in message


def test_flow_and_dvc_produce_the_same_model_and_metrics(dvc_project):
    """Same seed, same spec: the DVC door (in its own store) and the flow agree exactly."""
    result = dvc(dvc_project, "repro", "evaluate@quickstart")
    assert result.returncode == 0, result.stderr
    dvc_metrics = json.loads((dvc_project / "metrics" / "quickstart.json").read_text())
    weights = dvc_project / "models" / "quickstart" / "mlp" / "model.safetensors"
    dvc_weights = load_file(weights)
    for path in ("data", "models", "reports", "metrics", "plots", "mlflow.db", "dvc.lock"):
        target = dvc_project / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    training_flow("quickstart", str(dvc_project))
    assert deterministic(json.loads((dvc_project / "metrics" / "quickstart.json").read_text())) == deterministic(dvc_metrics)
    flow_weights = load_file(weights)
    assert flow_weights.keys() == dvc_weights.keys()
    assert all(torch.equal(flow_weights[k], dvc_weights[k]) for k in flow_weights)


def deterministic(metrics: dict) -> dict:
    """The metrics without the measured costs (seconds and milliseconds vary run to run)."""
    for scores in metrics["candidates"].values():
        del scores["train_seconds"], scores["latency_ms"]
    return metrics


def test_search_flow_runs_its_workers_as_concurrent_tasks(project):
    from flows.search import search_flow

    ctx = load_context("quickstart", project)
    for step in (ingest, validate, prepare):
        step(ctx)
    edit_yaml(project / "pipelines" / "quickstart.yaml", lambda s: s["tune"].update(trials=5, pruner="none"))
    state = search_flow("quickstart", "tune", 2, str(project), return_state=True)
    assert state.is_completed(), state
    assert task_states(state) == {"search-worker": "Completed"}  # both workers carry the same name
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert len(runs) == 2
    record = state.result()
    assert sum(record["trials"].values()) == 5
    assert json.loads((project / "search" / "quickstart" / "tune" / "result.json").read_text()) == record
