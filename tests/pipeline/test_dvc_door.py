"""The DVC door on a copy of the project: fail-fast validation and ingest, and the default pipelines.

A full repro, a no-op repro, partial re-runs and push/pull are exercised with the flow in
test_prefect_door.py, where the two doors must agree.
"""

from __future__ import annotations

import gzip
import shutil

import numpy as np
from conftest import FASHION, corrupt_fashion_labels, dvc, edit_yaml, ran
from mlflow import MlflowClient


def test_corrupt_labels_stop_the_pipeline_at_validate(dvc_project, tmp_path_factory):
    broken = corrupt_fashion_labels(tmp_path_factory.mktemp("fashion"))
    edit_yaml(dvc_project / "params.yaml", lambda p: p["sources"].update(fashion_mnist_dir=str(broken)))

    result = dvc(dvc_project, "repro", "evaluate@vision")
    assert result.returncode != 0
    assert ran(result) == ["ingest@vision", "validate@vision"]
    message = result.stdout + result.stderr
    assert "fashion_mnist" in message and "column 'label'" in message
    assert "expect_column_values_to_be_in_set" in message and "index 60123" in message
    assert not (dvc_project / "models" / "vision").exists()
    client = MlflowClient(f"sqlite:///{dvc_project / 'mlflow.db'}")
    assert client.search_registered_models() == []


def test_truncated_source_stops_the_pipeline_at_ingest(dvc_project, tmp_path_factory):
    broken = tmp_path_factory.mktemp("fashion")
    for f in FASHION.glob("*.gz"):
        shutil.copy(f, broken / f.name)
    images = broken / "train-images-idx3-ubyte.gz"
    blob = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(blob[: len(blob) // 2]))
    edit_yaml(dvc_project / "params.yaml", lambda p: p["sources"].update(fashion_mnist_dir=str(broken)))

    result = dvc(dvc_project, "repro", "evaluate@vision")
    assert result.returncode != 0 and ran(result) == ["ingest@vision"]
    assert "train-images-idx3-ubyte.gz: header declares shape (60000, 28, 28)" in result.stderr
    assert np.all([not (dvc_project / d / "vision").exists() for d in ("models", "reports")])


def test_a_bare_repro_runs_only_the_default_pipelines(dvc_project):
    """Long pipelines (fashion_nas, vision_full) are opt-in: listed in params.yaml to run."""
    listed = dvc(dvc_project, "stage", "list", "--name-only")  # what a bare `dvc repro` reproduces
    assert listed.returncode == 0, listed.stderr
    stages = listed.stdout.split()
    assert {stage.split("@")[1] for stage in stages if "@" in stage} == {"quickstart", "vision"}
    assert "transfer" in stages
