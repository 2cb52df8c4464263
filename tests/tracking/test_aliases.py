"""Champion moves against a real MLflow registry on SQLite (no torch: trivial artefacts)."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient

from mastery.errors import MasteryError
from mastery.tasks import build_task
from mastery.tracking.aliases import (
    CHAMPION,
    PREVIOUS,
    current_champion,
    promote,
    record_decision,
    rollback,
)
from mastery.tracking.gate import GateConfig, decide


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> MlflowClient:
    """One store per module (creating its tables takes seconds); tests use their own model.

    An explicit client, not `mlflow.set_tracking_uri`, so no global state leaks to other tests.
    """
    root = tmp_path_factory.mktemp("mlflow")
    return MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")


@pytest.fixture
def model(client, request, tmp_path) -> str:
    """A registered model, named after the test, with versions 1, 2 and 3 of one artefact."""
    name = request.node.name.replace("[", "-").rstrip("]")
    experiment = client.create_experiment(name, artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment)
    client.log_text(run.info.run_id, "weights", "model/weights.txt")
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    return name


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    return {alias: str(v) for alias, v in client.get_registered_model(name).aliases.items()}


def test_promote_then_rollback_twice_rolls_forward(client, model):
    assert current_champion(client, model) is None
    promote(client, model, "1")
    assert aliases(client, model) == {CHAMPION: "1"}
    promote(client, model, "2")
    assert aliases(client, model) == {CHAMPION: "2", PREVIOUS: "1"}
    assert str(rollback(client, model).version) == "1"
    assert aliases(client, model) == {CHAMPION: "1", PREVIOUS: "2"}
    rollback(client, model)
    assert aliases(client, model) == {CHAMPION: "2", PREVIOUS: "1"}
    assert str(current_champion(client, model).version) == "2"


def test_promoting_the_champion_again_changes_nothing(client, model):
    promote(client, model, "1")
    promote(client, model, "2")
    promote(client, model, "2")
    assert aliases(client, model) == {CHAMPION: "2", PREVIOUS: "1"}


def test_rollback_without_previous_champion_raises(client, model):
    with pytest.raises(MasteryError, match=PREVIOUS):
        rollback(client, model)
    promote(client, model, "3")
    with pytest.raises(MasteryError, match=PREVIOUS):
        rollback(client, model)
    assert aliases(client, model) == {CHAMPION: "3"}


def test_record_decision_tags_the_version(client, model):
    decision = decide(GateConfig(thresholds={"test_accuracy": 0.9}), build_task("classification", "image").metrics,
                      {"test_accuracy": 0.8}, np.ones(5, bool), None, None)
    record_decision(client, model, "2", decision)
    tags = client.get_model_version(model, "2").tags
    assert tags["gate.passed"] == "false"
    assert tags["gate.summary"] == "failed 1/1 checks: threshold test_accuracy"
