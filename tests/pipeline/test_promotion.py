"""The gate against a real MLflow store: weaker and within-noise challengers stay out,
a clearly better one is promoted, rollback restores the previous champion."""

import json

import pytest
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.promote import GateFailed, promote, rollback
from mastery.steps.train import train
from mastery.tracking import aliases


def challenger(project, seed=42, **recipe):
    """Train and register a new version with these training settings, then gate it."""
    edit_yaml(project / "pipelines" / "quickstart.yaml", lambda s: s["train"].update(recipe))
    edit_yaml(project / "params.yaml", lambda p: p.update(seed=seed))
    ctx = load_context("quickstart")
    train(ctx)
    evaluate(ctx)
    return promote(ctx)


def champion():
    return str(aliases.current_champion(MlflowClient(), "quickstart-digits").version)


@pytest.fixture
def prepared(project):
    ctx = load_context("quickstart")
    ingest(ctx)
    prepare(ctx)
    return project


def test_gate_scenarios_and_rollback(prepared):
    thresholds = {"test_accuracy": 0.85, "test_f1_macro": 0.85}
    edit_yaml(prepared / "pipelines" / "quickstart.yaml", lambda s: s["gate"].update(thresholds=thresholds))
    first = challenger(prepared, epochs=3, max_batches=None)
    assert first["promoted"] and first["champion_before"] is None and champion() == "1"

    weaker = challenger(prepared, epochs=1, max_batches=2)
    assert not weaker["promoted"] and champion() == "1"
    failed = [c["name"] for c in weaker["decision"]["checks"] if not c["passed"]]
    assert "threshold test_accuracy" in failed and "✗" in weaker["summary"]

    noise = challenger(prepared, seed=7, epochs=3, max_batches=None)
    assert not noise["promoted"] and champion() == "1"
    significance = next(c for c in noise["decision"]["checks"] if c["name"].startswith("significance"))
    assert not significance["passed"]

    better = challenger(prepared, epochs=25, max_batches=None)
    assert better["promoted"] and champion() == "4"
    client = MlflowClient()
    assert client.get_registered_model("quickstart-digits").aliases[aliases.PREVIOUS] == 1
    assert client.get_model_version("quickstart-digits", "2").tags["gate.passed"] == "false"
    report = json.loads((prepared / "reports" / "promotion" / "quickstart.json").read_text())
    assert report["challenger"] == "4" and report["champion_after"] == "4"

    assert rollback(load_context("quickstart"))["champion"] == "1" and champion() == "1"


def test_blocking_gate_fails_the_step_but_keeps_its_report(prepared):
    edit_yaml(prepared / "pipelines" / "quickstart.yaml", lambda s: s["gate"].update(blocking=True))
    with pytest.raises(GateFailed, match="not promoted"):
        challenger(prepared, epochs=1, max_batches=1)
    report = json.loads((prepared / "reports" / "promotion" / "quickstart.json").read_text())
    assert report["promoted"] is False
    assert aliases.current_champion(MlflowClient(), "quickstart-digits") is None
