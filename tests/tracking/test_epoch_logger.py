"""EpochLogger: each epoch's texts and figures land on the run under `<name>/epoch-NNNN.*`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mlflow
from mlflow import MlflowClient

from mastery.tracking.mlflow_runs import EpochLogger


def test_each_epochs_figures_are_logged_under_their_stem(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    monkeypatch.chdir(tmp_path)  # the run's local artifacts
    drawn = []

    def figures(model, directory):
        drawn.append(model)
        paths = [directory / "grid.png", directory / "samples.png"]
        for path in paths:
            path.write_bytes(b"\x89PNG " + path.stem.encode())
        return paths

    with mlflow.start_run(experiment_id=mlflow.create_experiment("epoch-logger")) as run:  # not an earlier test's
        logger = EpochLogger(run.info.run_id, figures=figures)
        for epoch in (1, 2):
            logger.on_epoch_end(SimpleNamespace(model=f"model {epoch}"), {"epoch": epoch, "val_loss": 1.0 / epoch})
    client = MlflowClient()
    assert drawn == ["model 1", "model 2"]
    for stem in ("grid", "samples"):
        assert [f.path for f in client.list_artifacts(run.info.run_id, stem)] == [
            f"{stem}/epoch-0001.png", f"{stem}/epoch-0002.png"]
    local = client.download_artifacts(run.info.run_id, "samples/epoch-0002.png", str(tmp_path))
    assert Path(local).read_bytes() == b"\x89PNG samples"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss/val")] == [1.0, 0.5]
