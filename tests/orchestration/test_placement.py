"""Where each step runs, and what a worker on another machine must pull before running it."""

from __future__ import annotations

from conftest import edit_yaml

from mastery.steps.catalog import step_named
from mastery.steps.context import load_context


def test_the_catalog_places_steps_and_params_override_it(project):
    edit_yaml(project / "params.yaml", lambda p: p.update(orchestration={
        "pools": ["cpu", "gpu"], "steps": {"evaluate": {"pool": "gpu", "timeout_minutes": 5}, "train": {"timeout_minutes": 90}}}))
    ctx = load_context("quickstart", project)

    assert step_named("ingest").placement(ctx) == ("cpu", 3600)
    assert step_named("train").placement(ctx) == ("gpu", 90 * 60)  # the catalog's pool, the params' timeout
    assert step_named("evaluate").placement(ctx) == ("gpu", 5 * 60)


def test_a_gpu_step_runs_on_cpu_where_there_is_no_gpu_pool(project):
    ctx = load_context("quickstart", project)  # orchestration.pools defaults to cpu only

    assert step_named("tune").placement(ctx) == ("cpu", 240 * 60)


def test_a_worker_pulls_what_earlier_steps_made_and_nothing_of_the_machines_own(project):
    paths = load_context("quickstart", project).paths

    assert step_named("ingest").handed_over(paths) == []  # incoming/ lives on the machine, not in the remote
    assert step_named("validate").handed_over(paths) == [paths.raw]
    assert step_named("promote").handed_over(paths) == [paths.prepared, paths.model_version]  # a file of evaluate's reports
    assert step_named("train").handed_over(paths) == [paths.prepared, paths.search("tune"), paths.search("nas")]
