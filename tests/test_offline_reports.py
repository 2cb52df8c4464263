"""The HTML reports render in headless Chromium with no network: DVC plots, GX data docs and
Evidently's drift report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import dvc, edit_yaml, tiny_project, with_dvc

from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.validate import validate

# What a page loads (not the links a reader may follow): each must be a local file.
LOADED_URLS = "[...document.querySelectorAll('script[src], link[href], img[src]')].map(e => e.src || e.href)"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A DVC workspace where only quickstart is listed and has run: tiny, no search, in-process.

    The steps are the ones `dvc repro` runs, called directly: one process instead of one a
    stage takes the module from over a minute to about 20 s.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = with_dvc(tiny_project(tmp_path_factory.mktemp("reports"), monkeypatch))
        edit_yaml(root / "params.yaml", lambda params: params.update(pipelines=["quickstart"]))
        edit_yaml(root / "pipelines" / "quickstart.yaml", lambda spec: spec.update(tune=None))
        ctx = load_context("quickstart")
        for step in (ingest, validate, prepare, train, evaluate):
            step(ctx)
        yield root


@pytest.fixture(scope="module")
def docs(workspace):
    return workspace / "reports" / "validation" / "quickstart" / "docs"


def assert_offline(tab):
    assert tab.blocked == [] and tab.errors == []
    assert all(url.startswith("file://") for url in tab.page.evaluate(LOADED_URLS))


def test_dvc_plots_show_draws_the_curves_and_the_task_figures_offline(workspace, tab):
    shown = dvc(workspace, "plots", "show")
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr  # no pipeline left unrun

    tab.open(workspace / "dvc_plots" / "index.html")
    assert tab.errors == []  # a missing library fails here, at load, not at a timeout
    tab.wait_for(".mark-line path")
    assert tab.page.locator(".mark-line path").count() == 4  # loss and accuracy, train and val
    assert {"train", "val", "loss", "accuracy"} <= set(tab.page.locator("svg text").all_text_contents())
    figures = tab.page.locator("img")  # the confusion matrix and ROC curves, as images
    assert figures.count() == 2 and all(figures.nth(i).evaluate("e => e.naturalWidth > 100") for i in range(2))
    assert_offline(tab)


def test_dvc_metrics_show_warns_of_nothing(workspace):
    shown = dvc(workspace, "metrics", "show")
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert "metrics/quickstart.json" in shown.stdout


def test_data_docs_index_is_styled_and_scripted_offline(docs, tab):
    tab.open(docs / "index.html", wait_for_text="digits.samples")
    assert tab.page.locator(".bootstrap-table").count() == 2  # bootstrap-table (jQuery) ran
    nav = tab.page.locator(".nav-tabs").first
    assert nav.evaluate("e => getComputedStyle(e).display") == "flex"  # Bootstrap's CSS applies
    assert tab.page.evaluate(
        "document.fonts.ready.then(fonts => [...fonts].some("
        "f => f.family.includes('Font Awesome') && f.status === 'loaded'))"
    )  # the status icons' font
    assert_offline(tab)


def test_a_validation_page_shows_each_expectation_offline(docs, tab):
    page = next((docs / "validations" / "digits" / "samples").rglob("*.html"))
    tab.open(page, wait_for_text="values must belong to this set")
    text = tab.text()
    for column in ("shape", "dtype", "label", "splits_with_hash"):
        assert column in text
    assert "Must have exactly 1797 rows." in text
    assert tab.page.locator(".bootstrap-table table").count() >= 10  # a styled table per column
    assert_offline(tab)


def test_the_drift_report_shows_the_drifted_columns_offline(tmp_path, tab):
    """What `mastery monitor` writes (Evidently's HTML, from our verdict's configuration) carries
    its scripts; the column that moved is marked, the one that did not is not."""
    from mastery.config.schema import MonitorConfig
    from mastery.monitoring.drift import compare

    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"mean": rng.normal(0.3, 0.1, 2000), "predicted_class": rng.integers(0, 10, 2000)})
    current = reference.sample(600, random_state=1).assign(mean=lambda f: f["mean"] + 0.05)
    snapshot, verdict = compare(reference, current, {"mean": "num", "predicted_class": "cat"}, MonitorConfig())
    assert verdict.drifted == ["mean"]
    snapshot.save_html(str(tmp_path / "drift.html"))

    tab.open(tmp_path / "drift.html", wait_for_text="Drifted Columns").wait_for_text("predicted_class")
    rows = tab.page.locator("tr", has_text="Wasserstein distance (normed)")
    assert rows.count() == 1 and "Detected" in rows.first.inner_text()
    assert "Not Detected" in tab.page.locator("tr", has_text="PSI").first.inner_text()
    assert_offline(tab)
