"""The Prefect door: the same steps, the same model as `dvc repro`, and cached re-runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.testing.utilities import prefect_test_harness
from safetensors.torch import load_file

from flows.training import training_flow
from mastery.export import read_metadata
from mastery.steps.catalog import STEPS
from mastery.tracking.lineage import data_hash, describe, file_digest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def prefect_api(tmp_path_factory):
    """One throwaway Prefect API and result store for the module (start-up costs ~15 s)."""
    storage = tmp_path_factory.mktemp("prefect-results")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))
        with prefect_test_harness():
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
    training_flow("quickstart", str(project))
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


def test_flow_and_dvc_produce_the_same_model_and_metrics(project, tmp_path_factory):
    training_flow("quickstart", str(project))
    other = tmp_path_factory.mktemp("dvc")
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, other / name)
    for name in ("src", ".dvc"):
        shutil.copytree(REPO / name, other / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
    for name in ("params.yaml", "pipelines"):
        (shutil.copytree if (project / name).is_dir() else shutil.copy)(project / name, other / name)
    subprocess.run(["git", "init", "-q"], cwd=other, check=True)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "MLFLOW_TRACKING_URI": f"sqlite:///{other}/mlflow.db",
           "HOME": str(other), "DO_NOT_TRACK": "true"}
    result = subprocess.run([Path(sys.executable).parent / "dvc", "repro", "evaluate@quickstart"], cwd=other,
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    flow_metrics = json.loads((project / "metrics" / "quickstart.json").read_text())
    dvc_metrics = json.loads((other / "metrics" / "quickstart.json").read_text())
    assert flow_metrics == dvc_metrics
    weights = "models/quickstart/mlp/model.safetensors"
    a, b = load_file(project / weights), load_file(other / weights)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
