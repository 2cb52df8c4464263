"""Shared fixtures: a tiny, isolated project (params, specs, tracking in tmp_path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the repo's params and specs in tmp_path, with MLflow in a SQLite file there.

    The quickstart spec is shrunk to two epochs of a few batches so steps finish in seconds,
    and its gate lowered to match, so promotion and export run too.
    """
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    spec_path = tmp_path / "pipelines" / "quickstart.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["train"] |= {"epochs": 2, "max_batches": 4}
    spec["gate"]["thresholds"] = {"test_accuracy": 0.2}
    spec_path.write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path
