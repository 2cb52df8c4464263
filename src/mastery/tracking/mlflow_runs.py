"""MLflow on the embedded default (`sqlite:///mlflow.db`) or any URI by configuration."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mastery.config.schema import TrackingConfig
from mastery.training.callbacks import Callback

EXPERIMENT_KIND, MODEL_DEVELOPMENT = "mlflow.experimentKind", "custom_model_development"
NOTE = "mlflow.note.content"  # a run's description in the UI
SPLITS = ("train", "val")


def use_store(tracking: TrackingConfig) -> str:
    """Point MLflow at the configured store; MLFLOW_TRACKING_URI wins."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking.uri
    mlflow.set_tracking_uri(uri)
    return uri


def configure(tracking: TrackingConfig, pipeline: str) -> str:
    """The store, and the pipeline's experiment for the runs that follow.

    The experiment is marked as model development, so MLflow's UI opens it on its training
    runs rather than on the GenAI overview.
    """
    import mlflow

    uri = use_store(tracking)
    experiment = mlflow.set_experiment(f"{tracking.experiment_prefix}/{pipeline}")
    if experiment.tags.get(EXPERIMENT_KIND) != MODEL_DEVELOPMENT:
        mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, MODEL_DEVELOPMENT)
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


def epoch_metric_name(key: str) -> str:
    """`val_loss` -> `loss/val`: MLflow charts metrics that share a prefix side by side, so
    each metric's train and val curves sit together; the rest go under `training/`."""
    split, _, metric = key.partition("_")
    return f"{metric}/{split}" if split in SPLITS and metric else f"training/{key}"


class EpochLogger(Callback):
    """Logs each epoch's record as one batch, so the MLflow UI follows training live; the
    texts `texts(model)` writes of the epoch's model (a language model's samples) as
    `<name>/epoch-NNNN.txt` and the PNGs `figures(model, directory=...)` draws of it (an
    autoencoder's reconstructions) as `<stem>/epoch-NNNN.png`, so a reviewer sees how the
    model improves."""

    def __init__(self, run_id: str, texts: Callable[[Any], dict[str, str]] | None = None,
                 figures: Callable[..., list[Path]] | None = None):
        self.run_id = run_id
        self.texts = texts
        self.figures = figures

    def on_epoch_end(self, trainer, record: dict) -> None:
        from mlflow import MlflowClient

        epoch = record["epoch"]
        values = {epoch_metric_name(k): v for k, v in record.items() if k != "epoch"}
        log_metrics(self.run_id, values, step=epoch)
        for name, text in (self.texts(trainer.model) if self.texts else {}).items():
            MlflowClient().log_text(self.run_id, text, f"{name}/epoch-{epoch:04d}.txt")
        if self.figures:
            self._log_figures(trainer.model, epoch)

    def _log_figures(self, model, epoch: int) -> None:
        from mlflow import MlflowClient

        with tempfile.TemporaryDirectory() as tmp:
            for path in self.figures(model, directory=Path(tmp)):
                named = Path(tmp) / path.stem / f"epoch-{epoch:04d}{path.suffix}"
                named.parent.mkdir()
                MlflowClient().log_artifact(self.run_id, str(path.rename(named)), path.stem)


def set_note_section(run_id: str, title: str, text: str) -> None:
    """Write `text` under `### title` in the run's description, replacing that section if a
    rerun wrote it before and keeping the others (train, evaluate, promote each own one)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    note = client.get_run(run_id).data.tags.get(NOTE, "")
    sections = dict(_sections(note))
    sections[title] = text.strip()
    client.set_tag(run_id, NOTE, "\n\n".join(f"### {name}\n{body}" for name, body in sections.items()))


def _sections(note: str):
    for chunk in note.split("### ")[1:]:
        title, _, body = chunk.partition("\n")
        yield title.strip(), body.strip()
