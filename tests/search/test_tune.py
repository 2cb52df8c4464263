"""`mastery tune` on the real default storage (SQLite), real MLflow and real training."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from conftest import edit_yaml
from mlflow import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from mastery.config import ConfigError
from mastery.search.results import result_path
from mastery.search.study import open_storage
from mastery.steps.context import load_context
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.tune import tune
from mastery.steps.validate import validate

SPACE = {
    "train.optimizer.lr": {"low": 1.0e-3, "high": 1.0e-2, "log": True},
    "layers": {"low": 1, "high": 2},
    "params.hidden": {"choices": [16, 32], "per": "layers"},
}


@pytest.fixture
def prepared(project):
    ctx = load_context("quickstart")
    for step in (ingest, validate, prepare):
        step(ctx)
    return project


def set_tune(project: Path, **tune) -> None:
    def mutate(spec):
        spec["tune"] = {"space": SPACE, "trials": 4, "pruner": "none", "train": {"epochs": 2, "max_batches": 2},
                        **tune}
    edit_yaml(project / "pipelines" / "quickstart.yaml", mutate)


def load_study(project: Path):
    ctx = load_context("quickstart", project)
    record = json.loads(result_path(ctx.paths, "tune").read_text())
    return optuna.load_study(study_name=record["study"], storage=open_storage(ctx, ctx.spec.tune)), record


def test_best_values_are_what_train_trains_and_trials_are_nested_runs(prepared):
    set_tune(prepared)
    record = tune(load_context("quickstart"))
    study, _ = load_study(prepared)
    assert record["value"] == study.best_value
    assert record["values"] == study.best_trial.user_attrs["values"]
    assert record["trials"] == {"COMPLETE": 4}
    ctx = load_context("quickstart")
    (mlp,) = ctx.candidates
    assert mlp.params["hidden"] == record["values"]["params.hidden"]
    assert mlp.train.optimizer.lr == record["values"]["train.optimizer.lr"]
    assert mlp.train.epochs == 2  # the candidate's own recipe, not the search's shorter one
    train(ctx)
    meta = json.loads((ctx.paths.candidate("mlp") / "model.json").read_text())
    assert meta["params"]["hidden"] == record["values"]["params.hidden"]

    # every trial is a nested run of the study's run
    client = MlflowClient()
    parent = client.get_run(study.user_attrs["mlflow_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["optuna.study"] == study.study_name
    assert parent.data.params["search.space.train.optimizer.lr.log"] == "True"
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "search")}
    assert {"search/result.json", "search/optimization_history.png", "search/param_importances.png",
            "search/parallel_coordinate.png"} <= plots
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in children) == [0, 1, 2, 3]
    for run in children:
        trial = study.trials[int(run.data.tags["optuna.trial"])]
        assert run.data.tags["optuna.state"] == "COMPLETE"
        assert float(run.data.params["train.optimizer.lr"]) == pytest.approx(trial.params["train.optimizer.lr"])
        history = client.get_metric_history(run.info.run_id, "accuracy/val")
        # what the pruner sees each epoch is what MLflow shows
        assert {m.step: m.value for m in history} == pytest.approx(trial.intermediate_values)


def test_a_diverging_configuration_is_pruned_with_its_cause_and_the_study_goes_on(prepared):
    space = {"train.optimizer.lr": {"choices": [1.0e-2, 1.0e+30]}, "train.optimizer.name": {"choices": ["sgd"]}}
    set_tune(prepared, space=space, sampler="random", trials=6)
    record = tune(load_context("quickstart"))
    study, _ = load_study(prepared)
    diverged = [t for t in study.trials if t.params["train.optimizer.lr"] == 1e30]
    assert diverged and all(t.state == TrialState.PRUNED for t in diverged)
    assert all("training loss became" in t.user_attrs["diverged"] for t in diverged)
    assert record["values"]["train.optimizer.lr"] == 1e-2
    assert sum(record["trials"].values()) == 6


def test_successive_halving_stops_trials_only_at_its_rungs(prepared):
    """min_resource 1, reduction factor 2 over 5 epochs: a trial is judged after epochs 1, 2 and 4."""
    space = {"train.optimizer.lr": {"low": 1.0e-6, "high": 0.5, "log": True}, "train.optimizer.name": {"choices": ["sgd"]}}
    set_tune(prepared, space=space, sampler="random", trials=8, pruner="successive_halving", min_resource=1,
             reduction_factor=2, train={"epochs": 5, "max_batches": 2})
    tune(load_context("quickstart"))
    study, _ = load_study(prepared)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, [t.intermediate_values for t in study.trials]
    assert {max(t.intermediate_values) for t in pruned} <= {1, 2, 4}
    assert all(len(t.intermediate_values) == 5 for t in study.trials if t.state == TrialState.COMPLETE)


@pytest.mark.parametrize("settings", [{"reduction_factor": 1}, {"min_resource": 0}, {"max_resource": 3}])
def test_pruner_resources_outside_the_trial_s_epochs_are_refused(prepared, settings):
    set_tune(prepared, pruner="hyperband", **settings)  # trials train 2 epochs
    with pytest.raises(ConfigError, match=r"tune: need 1 <= min_resource .* reduction_factor >= 2"):
        tune(load_context("quickstart"))


@pytest.mark.slow  # spawns 4 interpreters (~1 min on 2 cores); the default run keeps the 2-worker flow test
def test_four_workers_finish_exactly_the_budget(prepared):
    set_tune(prepared, trials=8, workers=4)
    tune(load_context("quickstart"))
    study, record = load_study(prepared)
    assert [t.number for t in study.trials] == list(range(8))
    assert {t.state for t in study.trials} == {TrialState.COMPLETE}
    assert record["trials"] == {"COMPLETE": 8}
    runs = MlflowClient().search_runs([study_experiment(study)],
                                      f"tags.mlflow.parentRunId = '{study.user_attrs['mlflow_run_id']}'")
    assert len(runs) == 8


def study_experiment(study) -> str:
    return MlflowClient().get_run(study.user_attrs["mlflow_run_id"]).info.experiment_id


def test_a_killed_search_resumes_keeping_finished_trials_and_retrying_the_stale_one(prepared):
    set_tune(prepared, trials=4, heartbeat_seconds=1, grace_seconds=2, train={"epochs": 3})
    worker = subprocess.Popen([Path(sys.executable).parent / "mastery", "tune", "-p", "quickstart"], cwd=prepared,
                              env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    ctx = load_context("quickstart")
    storage = open_storage(ctx, ctx.spec.tune)
    before = wait_for_a_finished_and_a_running_trial(storage, worker)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    running = [t for t in before if t.state == TrialState.RUNNING]

    record = tune(load_context("quickstart"))

    study = optuna.load_study(study_name=record["study"], storage=storage)
    for old in before:  # no finished trial lost or changed
        if old.state == TrialState.COMPLETE:
            assert study.trials[old.number].state == TrialState.COMPLETE
            assert study.trials[old.number].value == old.value
    (stale,) = running
    assert study.trials[stale.number].state == TrialState.FAIL
    retries = [t for t in study.trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == stale.number]
    assert [t.state for t in retries] == [TrialState.COMPLETE]
    assert retries[0].params == stale.params
    assert record["trials"] == {"COMPLETE": 4, "FAIL": 1}
    run = MlflowClient().get_run(study.trials[stale.number].user_attrs["mlflow_run_id"])
    assert (run.info.status, run.data.tags["optuna.state"]) == ("KILLED", "FAIL")


def wait_for_a_finished_and_a_running_trial(storage, worker, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert worker.poll() is None, "the search ended before it could be killed"
        summaries = optuna.get_all_study_summaries(storage)
        if summaries:
            trials = optuna.load_study(study_name=summaries[0].study_name, storage=storage).trials
            states = [t.state for t in trials]
            # a trial counts as running once its MLflow run exists (its first act after sampling)
            running = [t for t in trials if t.state == TrialState.RUNNING and "mlflow_run_id" in t.user_attrs]
            if TrialState.COMPLETE in states and running:
                return trials
        time.sleep(0.1)
    raise AssertionError("no trial finished while another ran")


def test_more_trials_or_a_longer_final_training_continue_the_same_study(prepared):
    set_tune(prepared, trials=2)
    first = tune(load_context("quickstart"))

    def longer(spec):
        spec["tune"]["trials"] = 3
        spec["train"]["epochs"] = 5  # the final recipe; trials keep the search's own 2 epochs
    edit_yaml(prepared / "pipelines" / "quickstart.yaml", longer)
    second = tune(load_context("quickstart"))
    assert second["study"] == first["study"]
    study, _ = load_study(prepared)
    assert [t.number for t in study.trials] == [0, 1, 2]

    edit_yaml(prepared / "pipelines" / "quickstart.yaml", lambda s: s["tune"]["train"].update(epochs=1))
    assert tune(load_context("quickstart"))["study"] != first["study"]  # a different search
