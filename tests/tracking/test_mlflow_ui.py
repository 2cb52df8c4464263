"""What a reviewer sees in the MLflow UI: the real `mlflow ui` over a tiny quickstart run, read
in headless Chromium."""

import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mastery.localstack import free_port, server_process
from mastery.steps.catalog import STEPS
from mastery.steps.context import load_context
from mastery.tracking.lineage import MODEL_TRAINING


@pytest.fixture
def promoted(project):
    """Quickstart through promote: one champion, its gate decision on the run and the version."""
    ctx = load_context("quickstart")
    for step in STEPS[:8]:  # ingest .. promote
        step.run(ctx)
    return ctx


# "@champion" as a tag, or "champion" in the Aliases field ahead of the description's "promoted to champion"
ALIAS_SHOWN = ("() => { const page = document.body.textContent;"
               " return page.includes('@champion') || page.split('promoted')[0].includes('champion'); }")
UI_S = 60  # MLflow's single-page app fetches megabytes of JS: slow on a busy 2-core machine


@pytest.fixture
def mlflow_ui(project):
    """`mlflow ui` on a free 127.0.0.1 port over the project's store; its base URL."""
    port, store = free_port(), f"sqlite:///{project / 'mlflow.db'}"
    url = f"http://127.0.0.1:{port}"
    with server_process([Path(sys.executable).parent / "mlflow", "ui", "--backend-store-uri", store,
                         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], f"{url}/health", timeout_s=90):
        yield url


def test_run_and_version_pages_show_the_gate_decision_and_the_champion(promoted, mlflow_ui, tab, tmp_path):
    client = MlflowClient()
    version = client.get_model_version_by_alias("quickstart-digits", "champion")
    run = client.get_run(version.run_id)

    # MLflow 3.17's UI picks GenAI or model training by a global switch (remembered by the
    # browser), not by the experiment's kind tag: the links we print carry the switch
    tab.open(f"{mlflow_ui}/#/experiments/{run.info.experiment_id}{MODEL_TRAINING}").wait_for_text("quickstart/mlp", UI_S)
    tab.screenshot(tmp_path / "experiment.png")

    tab.open(f"{mlflow_ui}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}{MODEL_TRAINING}") \
        .wait_for_text("quickstart-digits v1 promoted to champion", UI_S)
    tab.screenshot(tmp_path / "run.png")
    page = tab.page.text_content("body")  # all of it: the UI folds a long description
    assert "Kept epoch" in page and "Test: accuracy" in page  # the description: training, evaluation

    tab.open(f"{mlflow_ui}/#/models/quickstart-digits/versions/{version.version}{MODEL_TRAINING}") \
        .wait_for_text("quickstart-digits v1 promoted to champion", UI_S)
    # the alias, beside the description: the UI fetches aliases after the version, so wait for them
    tab.page.wait_for_function(ALIAS_SHOWN, timeout=UI_S * 1000)
    tab.screenshot(tmp_path / "version.png")
    page = tab.page.text_content("body")  # all of it: the UI folds a long description
    assert "threshold test_accuracy" in page and "data_hash" in page  # the decision's figures, the lineage
    assert tab.blocked == []
