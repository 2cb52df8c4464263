"""A study in MLflow: one parent run for the study, one nested run per trial."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mastery.tracking.mlflow_runs import flatten

STATE_TAG = "optuna.state"


def study_run(study, experiment: str, run_name: str, definition: dict) -> str:
    """The study's MLflow run: created on the first open (with the search's definition as
    params), found again on every resume, made anew if the tracking store lost it."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    client = MlflowClient()
    if (run_id := study.user_attrs.get("mlflow_run_id")) and _exists(client, run_id):
        return run_id
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    run = client.create_run(experiment_id, run_name=run_name, tags={"optuna.study": study.study_name})
    params = [Param(k, str(v)[:6000]) for k, v in flatten(definition).items()]
    client.log_batch(run.info.run_id, params=params)
    study.set_user_attr("mlflow_run_id", run.info.run_id)
    return run.info.run_id


def _exists(client, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException:
        return False
    return True


@contextmanager
def trial_run(parent_run_id: str, trial, run_name: str, values: dict) -> Iterator[str]:
    """A nested run holding the trial's values and per-epoch metrics; its end says how the trial ended."""
    import mlflow
    import optuna

    worker = f"{socket.gethostname()}:{os.getpid()}"  # which machine and process ran it
    tags = {"mlflow.parentRunId": parent_run_id, "optuna.trial": str(trial.number), "optuna.worker": worker}
    run = mlflow.start_run(run_name=run_name, tags=tags)
    trial.set_user_attr("mlflow_run_id", run.info.run_id)
    trial.set_user_attr("worker", worker)
    mlflow.log_params(flatten(values))
    try:
        yield run.info.run_id
    except optuna.TrialPruned as pruned:
        mlflow.set_tags({STATE_TAG: "PRUNED", "optuna.pruned_reason": str(pruned)})
        mlflow.end_run("FINISHED")
        raise
    except BaseException as error:
        mlflow.set_tags({STATE_TAG: "FAIL", "optuna.fail_reason": repr(error)})
        mlflow.end_run("FAILED")
        raise
    mlflow.set_tag(STATE_TAG, "COMPLETE")
    mlflow.end_run()


def mark_stale_run(trial) -> None:
    """The run of a trial whose worker died: KILLED, so the UI does not show it running forever."""
    from mlflow import MlflowClient

    if run_id := trial.user_attrs.get("mlflow_run_id"):
        client = MlflowClient()
        client.set_tag(run_id, STATE_TAG, "FAIL")
        client.set_tag(run_id, "optuna.fail_reason", "worker stopped sending heartbeats")
        client.set_terminated(run_id, "KILLED")


def close_study_run(run_id: str, outcome: dict, metrics: dict, artifacts: list[Path]) -> None:
    """Outcome as tags (a resumed study may change it; params are write-once), figures, plots."""
    from mlflow import MlflowClient

    from mastery.tracking.mlflow_runs import log_metrics

    client = MlflowClient()
    for key, value in flatten(outcome).items():
        client.set_tag(run_id, f"search.{key}", str(value))
    log_metrics(run_id, metrics)
    for path in artifacts:
        client.log_artifact(run_id, str(path), "search")
    client.set_terminated(run_id, "FINISHED")
