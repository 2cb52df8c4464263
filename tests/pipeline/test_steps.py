"""The spine end to end on digits, through the same step functions every door calls."""

import json
import shutil

import mlflow
import numpy as np
import pytest
import torch
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.data.prepare import PreparedData
from mastery.errors import MasteryError
from mastery.evaluation.cost import count_parameters
from mastery.models.artifact import load_trained
from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.validate import validate
from mastery.tracking.lineage import data_hash
from mastery.training.inference import predict


@pytest.fixture
def evaluated(project):
    """Quickstart with a second candidate, a LeNet-5 of one batch an epoch (it loses to the MLP)."""
    edit_yaml(project / "pipelines" / "quickstart.yaml", lambda spec: spec["candidates"].append(
        {"name": "lenet5", "model": "lenet5", "train": {"max_batches": 1}}))
    ctx = load_context("quickstart")
    for step in (ingest, validate, prepare, train):
        step(ctx)
    return ctx, evaluate(ctx)


def test_quickstart_registers_a_tagged_model_version(evaluated):
    ctx, summary = evaluated
    client = MlflowClient()
    version = client.get_model_version(ctx.spec.registered_model, str(summary["version"]))
    assert version.tags["data_hash"] == data_hash(ctx.paths.prepared)
    assert version.tags["candidate"] == summary["selected"] == "mlp"
    assert len(version.tags["params_hash"]) == 16
    assert version.tags["git_commit"]
    run = client.get_run(version.run_id)
    history = client.get_metric_history(version.run_id, "loss/val")  # beside loss/train in MLflow's charts
    assert [m.step for m in history] == [1, 2]
    kept = json.loads((ctx.paths.candidate("mlp") / "run.json").read_text())["best"]
    assert run.data.metrics["val_loss"] == pytest.approx(kept["val_loss"])  # the kept epoch, not the last
    assert run.data.metrics["kept_epoch"] == kept["epoch"]
    assert run.data.metrics["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert run.data.params["device"] == "cpu"  # the device used, not `auto`
    inputs = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
    assert inputs == {"digits/train": data_hash(ctx.paths.prepared), "digits/val": data_hash(ctx.paths.prepared)}
    note = run.data.tags["mlflow.note.content"]
    assert "### Training" in note and "### Evaluation" in note and "registered as quickstart-digits v1" in note
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    artifacts = {a.path for a in client.list_artifacts(version.run_id, "evaluation")}
    assert {"evaluation/learning_curves.png", "evaluation/confusion_matrix.png", "evaluation/roc.png"} <= artifacts
    assert client.list_artifacts(version.run_id, "validation")
    for name in ("mlp", "lenet5"):  # every candidate: its cost, the zoo table, explanations where they exist
        run_id = json.loads((ctx.paths.candidate(name) / "run.json").read_text())["run_id"]
        metrics = client.get_run(run_id).data.metrics
        n_parameters = count_parameters(load_trained(ctx.paths.candidate(name))[0])
        assert metrics["n_parameters"] == summary["candidates"][name]["n_parameters"] == n_parameters
        assert metrics["latency_ms"] > 0 and metrics["train_seconds"] > 0
        artifacts = {a.path for a in client.list_artifacts(run_id, "evaluation")}
        assert "evaluation/zoo.md" in artifacts
        assert ("evaluation/grad_cam.png" in artifacts) == (name == "lenet5")  # an MLP has no spatial map


def test_registered_model_predicts_like_the_trained_one(evaluated):
    ctx, summary = evaluated
    x_test = PreparedData.load(ctx.paths.prepared).splits["test"]["image"]
    eager, _ = load_trained(ctx.paths.candidate("mlp"))
    served = mlflow.pyfunc.load_model(f"models:/{ctx.spec.registered_model}/{summary['version']}")
    expected = predict(eager, ctx.task, {"image": x_test[:16]}).numpy()
    np.testing.assert_allclose(served.predict(x_test[:16].numpy()), expected, atol=1e-5)


def test_metrics_and_plot_data_for_dvc(evaluated):
    ctx, _ = evaluated
    headline = json.loads(ctx.paths.metrics.read_text())  # numbers only: DVC tabulates every leaf
    assert set(headline) == {"test_accuracy", "test_f1_macro"} and 0.2 < headline["test_accuracy"] <= 1.0
    metrics = json.loads((ctx.paths.reports / "evaluation.json").read_text())
    assert metrics["selected"] == "mlp" and metrics["test_accuracy"] == headline["test_accuracy"]
    assert {"test_f1_macro", "test_roc_auc_ovr"} <= set(metrics)
    curve = (ctx.paths.plots / "learning_curve.csv").read_text().splitlines()
    assert curve[0] == "epoch,metric,split,value" and len(curve) == 1 + 2 * 2 * 2  # 2 epochs x loss, accuracy x train, val
    assert sorted(p.name for p in (ctx.paths.plots / "figures").iterdir()) == ["confusion_matrix.png", "roc.png"]
    table = (ctx.paths.reports / "zoo.md").read_text().splitlines()
    rows = [line.strip("| ").split(" | ") for line in table if line.startswith("| ") and "candidate" not in line]
    assert [row[0] for row in rows] == sorted(["mlp", "lenet5"], key=lambda n: -metrics["candidates"][n]["test_accuracy"])
    assert {row[0]: row[-1] for row in rows} == {"mlp": "4", "lenet5": "1"}  # batches an epoch: the budget


def test_train_resumes_from_checkpoint_after_a_kill(project):
    ctx = load_context("quickstart")
    for step in (ingest, prepare):
        step(ctx)

    class Kill(Exception):
        pass

    class KillAfterFirstEpoch:
        def on_fit_start(self, *args): ...
        def on_batch_end(self, trainer): ...
        def on_fit_end(self, trainer): ...
        def on_epoch_end(self, trainer, record):
            raise Kill

    with pytest.raises(Kill):
        train(ctx, callbacks=[KillAfterFirstEpoch()])
    runs = mlflow.search_runs(experiment_names=["mastery/quickstart"])
    assert list(runs["status"]) == ["FAILED"]
    client = MlflowClient()  # what a SIGKILL leaves: a run nobody ended
    killed = client.create_run(runs["experiment_id"][0], tags={"pipeline": "quickstart", "candidate": "mlp"})
    train(ctx)
    resumer = mlflow.search_runs(experiment_names=["mastery/quickstart"], filter_string="status = 'FINISHED'")
    assert client.get_run(killed.info.run_id).info.status == "KILLED"
    assert client.get_run(killed.info.run_id).data.tags["mastery.resumed_by"] == resumer["run_id"][0]
    assert client.get_run(runs["run_id"][0]).info.status == "FAILED"  # an ended run keeps its status
    history = json.loads((ctx.paths.candidate("mlp") / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]  # epoch 1 from the killed run, epoch 2 resumed
    resumed, _ = load_trained(ctx.paths.candidate("mlp"))

    shutil.rmtree(project / "checkpoints")
    train(ctx)
    fresh, _ = load_trained(ctx.paths.candidate("mlp"))
    for (name, a), b in zip(resumed.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs between resumed and uninterrupted training"


def test_candidates_trained_side_by_side_match_one_after_another(project):
    edit_yaml(project / "pipelines" / "quickstart.yaml", lambda spec: spec["candidates"].append(
        {"name": "lenet5", "model": "lenet5", "train": {"max_batches": 1}}))
    ctx = load_context("quickstart")
    for step in (ingest, prepare):
        step(ctx)
    side_by_side = train(ctx, workers=2)
    runs = mlflow.search_runs(experiment_names=["mastery/quickstart"])
    assert sorted(runs["tags.candidate"]) == ["lenet5", "mlp"] and set(runs["status"]) == {"FINISHED"}
    models = {name: load_trained(ctx.paths.candidate(name))[0] for name in ("mlp", "lenet5")}

    shutil.rmtree(project / "checkpoints")  # else the second train resumes the first's last epochs
    one_after_another = train(ctx)
    for name, best in side_by_side.items():
        assert best["epoch"] == one_after_another[name]["epoch"]
        assert best["val_loss"] == pytest.approx(one_after_another[name]["val_loss"], rel=1e-5)
    for name, model in models.items():
        alone, _ = load_trained(ctx.paths.candidate(name))
        for (key, a), b in zip(model.state_dict().items(), alone.state_dict().values()):
            torch.testing.assert_close(a, b, msg=f"{name}.{key} differs when trained in a worker")

    # a worker that fails keeps the other's model
    edit_yaml(ctx.paths.spec, lambda spec: spec["candidates"][1].update(start_from="nowhere/nothing"))
    ctx = load_context("quickstart")
    with pytest.raises(MasteryError, match=r"\['lenet5'\] failed"):
        train(ctx, workers=2)
    assert (ctx.paths.candidate("mlp") / "run.json").is_file()
    assert not ctx.paths.candidate("lenet5").exists()
