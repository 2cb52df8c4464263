"""The Prefect door: the same steps, the same model as `dvc repro`, and cached re-runs."""

import json

import pytest
from conftest import (
    corrupt_fashion_labels,
    dvc,
    edit_yaml,
    ran,
    sentence_copied_from_test_into_train,
    task_states,
    write_corpus,
)
from flows.training import training_flow
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from mastery.export import read_metadata
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.validate import validate
from mastery.tracking.lineage import data_hash, describe, file_digest

pytestmark = pytest.mark.usefixtures("prefect_api")  # conftest: one Prefect API for the run


def test_flow_runs_every_step_and_dvc_then_finds_them_done(dvc_project):
    first = training_flow("quickstart", str(dvc_project), return_state=True)
    assert first.is_completed(), first
    assert set(task_states(first).values()) == {"Completed"}
    assert len(task_states(first)) == len(STEPS)
    client = MlflowClient()
    assert client.get_registered_model("quickstart-digits").aliases["champion"] == 1
    chain = describe("quickstart-digits")  # what `mastery lineage quickstart-digits` prints
    exports = dvc_project / "exports" / "quickstart"
    assert chain["aliases"] == ["champion"] and chain["version"] == "1"
    assert chain["onnx_sha256"] == file_digest(exports / "model.onnx", "sha256")
    assert chain["onnx_int8_sha256"] == file_digest(exports / "model.int8.onnx", "sha256")
    assert chain["data_hash"] == data_hash(dvc_project / "data" / "quickstart" / "prepared")
    assert read_metadata(exports / "model.int8.onnx")["run_id"] == chain["run_id"]
    parity = json.loads((exports / "parity.json").read_text())
    assert [c["name"] for c in parity["checks"]] == ["onnx", "onnx_int8"] and all(c["passed"] for c in parity["checks"])

    # the flow recorded what it ran in dvc.lock: DVC has nothing to do and nothing to report
    assert ran(dvc(dvc_project, "repro", "export@quickstart")) == []
    assert "up to date" in dvc(dvc_project, "status", "export@quickstart", "--with-deps").stdout


def test_failed_validation_fails_the_flow_with_the_named_cause(dvc_project, tmp_path_factory):
    broken = corrupt_fashion_labels(tmp_path_factory.mktemp("fashion"))
    edit_yaml(dvc_project / "params.yaml", lambda p: p["sources"].update(fashion_mnist_dir=str(broken)))
    state = training_flow("vision", str(dvc_project), return_state=True)
    assert state.is_failed()
    assert task_states(state) == {"ingest": "Completed", "validate": "Failed"}
    message = state.message
    assert message.startswith("validate@vision: fashion_mnist")
    assert "column 'label'" in message and "expect_column_values_to_be_in_set" in message
    assert "Traceback" not in message


def test_a_test_sentence_in_train_fails_the_text_flow_at_validate(project, tmp_path_factory):
    corpus = write_corpus(sentence_copied_from_test_into_train, tmp_path_factory.mktemp("mr"))
    edit_yaml(project / "params.yaml", lambda p: p["sources"].update(rotten_tomatoes=str(corpus)))
    state = training_flow("text", str(project), return_state=True)
    assert state.is_failed()
    assert task_states(state) == {"ingest": "Completed", "validate": "Failed"}
    assert state.message.startswith("validate@text: mr: 1 expectation(s) failed")
    assert "column 'splits_with_hash'" in state.message and "Traceback" not in state.message
    assert MlflowClient().search_registered_models() == []


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
