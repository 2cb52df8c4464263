"""MLflow on the embedded default (`sqlite:///mlflow.db`) or any URI by configuration."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from mastery.config.schema import TrackingConfig
from mastery.training.trainer import Callback


def use_store(tracking: TrackingConfig) -> str:
    """Point MLflow at the configured store; MLFLOW_TRACKING_URI wins."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking.uri
    mlflow.set_tracking_uri(uri)
    return uri


def configure(tracking: TrackingConfig, pipeline: str) -> str:
    """The store, and the pipeline's experiment for the runs that follow."""
    import mlflow

    uri = use_store(tracking)
    mlflow.set_experiment(f"{tracking.experiment_prefix}/{pipeline}")
    return uri


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as dotted keys, the shape MLflow params and DVC params share."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def log_metrics(run_id: str, metrics: Mapping[str, float], step: int | None = None) -> None:
    """All of `metrics` in one `log_batch` call."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    batch = [Metric(k, float(v), stamp, step or 0) for k, v in metrics.items()]
    MlflowClient().log_batch(run_id, metrics=batch)


class EpochLogger(Callback):
    """Logs each epoch's record as one batch, so the MLflow UI follows training live."""

    def __init__(self, run_id: str):
        self.run_id = run_id

    def on_epoch_end(self, trainer, record: dict) -> None:
        values = {k: v for k, v in record.items() if k != "epoch"}
        log_metrics(self.run_id, values, step=record["epoch"])
