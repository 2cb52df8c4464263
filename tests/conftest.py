"""Shared fixtures: a tiny, isolated project (params, specs, tracking in tmp_path)."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# the model families that forecast series (tests/models/test_forecasters.py); the image zoo
# tests every other family
FORECASTERS = ("seasonal_naive", "ets", "harmonic_regression", "lstm_forecaster", "gru_forecaster")


def tiny_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's params and specs in root, with MLflow in a SQLite file there.

    The quickstart spec is shrunk to two epochs of a few batches so steps finish in seconds,
    its search to two one-epoch trials, and its gate lowered to match, so promotion and
    export run too.
    """
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    spec_path = root / "pipelines" / "quickstart.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["train"] |= {"epochs": 2, "max_batches": 4}
    spec["tune"] |= {"trials": 2, "train": {"epochs": 1}}
    spec["gate"]["thresholds"] = {"test_accuracy": 0.2}
    spec_path.write_text(yaml.safe_dump(spec))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # a URI set by an earlier test would otherwise win over the env
    monkeypatch.chdir(root)
    return root


def with_dvc(project: Path) -> Path:
    """`project` made a git + DVC workspace with the repo's stages, code and DVC config, all
    committed (a baseline, as `dvc exp run` needs)."""
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, project / name)
    for name in ("src", ".dvc", "bin"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "baseline"]):
        subprocess.run([*git, *command], cwd=project, check=True)
    (project / ".venv").symlink_to(Path(sys.prefix))  # where `bin/mastery` looks, as in a checkout
    return project


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """`tiny_project` in tmp_path."""
    return tiny_project(tmp_path, monkeypatch)


@pytest.fixture
def dvc_project(project) -> Path:
    """`project` as a git + DVC workspace (`with_dvc`)."""
    return with_dvc(project)


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the venv's dvc in `project` as README users do, without activating the venv, with
    MLflow in the project's own SQLite file."""
    bin_dir = Path(sys.executable).parent
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != bin_dir)
    env = os.environ | {"PATH": path, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    return subprocess.run([bin_dir / "dvc", *args], cwd=project, env=env, capture_output=True, text=True, check=False)


def edit_yaml(path: Path, mutate) -> None:
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data))


def ran(result: subprocess.CompletedProcess) -> list[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, in order."""
    return re.findall(r"Running stage '([^']+)'", result.stdout)


FASHION = Path("/usr/share/datasets/fashion-mnist")


def corrupt_fashion_labels(directory: Path) -> Path:
    """A copy of the Fashion-MNIST source whose test label 123 (row 60123) is out of range."""
    for f in FASHION.glob("*.gz"):
        shutil.copy(f, directory / f.name)
    labels = directory / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(gzip.decompress(labels.read_bytes()))
    blob[8 + 123] = 10  # the header is 8 bytes
    labels.write_bytes(gzip.compress(bytes(blob)))
    return directory


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium for the whole run (see tests/browser.py); a launch costs about a second."""
    from browser import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        if shutil.which("apt-get"):
            pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing and there is no apt-get to install it")
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def tab(chromium):
    """A fresh browser tab that may load only from this machine (see `browser.Tab`)."""
    from browser import open_tab

    with open_tab(chromium) as tab:
        yield tab
