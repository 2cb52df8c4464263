"""The transfer experiment end to end on digits: every mode at every size, a table, a plot, runs."""

import json

import mlflow
from conftest import edit_yaml
from typer.testing import CliRunner

from mastery.cli import app
from mastery.steps.context import load_context
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.transfer import transfer

TRANSFER = {"source": "mlp", "dataset": "digits", "sizes": [30, "all"], "unfreeze_after": 1,
            "train": {"epochs": 2, "batch_size": 16, "max_batches": 3}}


def test_transfer_compares_every_mode_at_every_size(project):
    edit_yaml(project / "pipelines" / "quickstart.yaml", lambda spec: spec.update(transfer=TRANSFER))
    ctx = load_context("quickstart")
    for step in (ingest, prepare, train):
        step(ctx)
    report = transfer(ctx)

    results = report["results"]
    assert [(r["mode"], r["examples"]) for r in results[:3]] == [
        ("scratch", 30), ("feature_extraction", 30), ("fine_tuning", 30)]
    assert len(results) == 6 and results[-1]["examples"] > 30 and all(0 <= r["test_accuracy"] <= 1 for r in results)
    out = ctx.paths.transfer
    assert json.loads((out / "transfer.json").read_text())["results"] == results
    table = (out / "transfer.md").read_text()
    assert "| target examples | scratch | feature extraction | fine-tuning | transfer - scratch |" in table
    assert "| 30 |" in table and (out / "transfer.png").stat().st_size > 0
    assert json.loads((out / "validation" / "result.json").read_text())["success"]

    runs = mlflow.search_runs(experiment_names=["mastery/quickstart-transfer"])
    parent = runs[runs["tags.mlflow.parentRunId"].isna()]
    assert len(parent) == 1 and len(runs) == 7
    assert sorted(runs["params.mode"].dropna()) == sorted(["scratch", "feature_extraction", "fine_tuning"] * 2)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent["run_id"].iloc[0], "transfer")}
    assert {"transfer/transfer.md", "transfer/transfer.json", "transfer/transfer.png"} <= artifacts


def test_transfer_without_a_transfer_section_is_a_clean_error(project):
    result = CliRunner().invoke(app, ["transfer", "-p", "quickstart"])
    assert result.exit_code == 1 and "has no `transfer` section" in result.stderr
