"""`mastery deploy` on a real Prefect server: schedules fire, a redeploy duplicates no run and
keeps a paused schedule paused, and every step lands on its pool."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import edit_yaml
from flows.deployments import deploy

from mastery.config import load_params
from mastery.localstack import free_port, server_process


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`prefect server start` on a free 127.0.0.1 port, its scheduler looking every second."""
    home, port = tmp_path_factory.mktemp("prefect-home"), free_port()
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
           "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": ""}
    url = f"http://127.0.0.1:{port}/api"
    with server_process([Path(sys.executable).with_name("prefect"), "server", "start", "--host", "127.0.0.1",
                         "--port", str(port)], f"{url}/health", env=env, timeout_s=120):
        yield url


@pytest.fixture
def on_server(prefect_server, monkeypatch):
    """Prefect's client aimed at the module's server for one test: a setting, not only the
    environment, since the session's test harness (when another test started it) overrides it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield prefect_server


@pytest.fixture
def deployed(project, on_server):
    """The project's deployments on the server, the training schedule every 30 minutes."""
    edit_yaml(project / "params.yaml", lambda p: p.update(
        pipelines=["quickstart"], monitored=["quickstart"], orchestration={"pools": ["cpu", "gpu"], "training": {"interval_seconds": 1800}}))
    return deploy(load_params(project / "params.yaml"), project)


def scheduled_starts(deployment_name: str) -> list:
    """The expected start times of `flow/name`'s scheduled runs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployment_name)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))))
    return [run.expected_start_time for run in runs]


def wait_for(predicate, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    raise TimeoutError("condition not met")


def test_deployments_land_on_their_pools(deployed):
    from prefect.client.orchestration import get_client

    assert sorted(deployed) == ["mastery-drift/quickstart", "mastery-search/quickstart-tune", "mastery-step/cpu",
                                "mastery-step/gpu", "mastery-training/quickstart"]
    with get_client(sync_client=True) as client:
        pools = {d: client.read_deployment_by_name(d).work_pool_name for d in deployed}
        assert {client.read_work_pool(p).name: client.read_work_pool(p).concurrency_limit for p in ("cpu", "gpu")} \
            == {"cpu": 4, "gpu": 1}
        training = client.read_deployment_by_name("mastery-training/quickstart")
        drift = client.read_deployment_by_name("mastery-drift/quickstart")
    assert pools == {"mastery-drift/quickstart": "cpu", "mastery-search/quickstart-tune": "gpu", "mastery-step/cpu": "cpu", "mastery-step/gpu": "gpu",
                     "mastery-training/quickstart": "cpu"}
    assert training.parameters == {"pipeline": "quickstart", "dispatch": True}
    assert training.global_concurrency_limit.limit == 1  # one run of a pipeline at a time
    assert drift.parameters == {"pipeline": "quickstart", "since": "1h", "dispatch": True}
    assert [s.schedule.cron for s in drift.schedules] == ["0 * * * *"]  # hourly
    assert training.pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"] == "{{ $MASTERY_ROOT }}"


def test_a_schedule_fires_and_redeploying_neither_duplicates_nor_unpauses(deployed, project):
    from prefect.client.orchestration import get_client

    training = "mastery-training/quickstart"
    first = wait_for(lambda: scheduled_starts(training), timeout_s=120)  # the scheduler made runs (slow under load)
    params = load_params(project / "params.yaml")
    for _ in range(2):
        deploy(params, project)
    time.sleep(3)  # three scheduler loops
    again = scheduled_starts(training)
    assert set(first) <= set(again) and not [t for t, n in Counter(again).items() if n > 1]

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(training)
        (schedule,) = deployment.schedules
        client.update_deployment_schedule(deployment.id, schedule.id, active=False)  # paused in the UI
    wait_for(lambda: not scheduled_starts(training), timeout_s=120)  # pausing drops the runs it had scheduled
    deploy(params, project)
    time.sleep(3)
    with get_client(sync_client=True) as client:
        (after,) = client.read_deployment_by_name(training).schedules
    assert (after.id, after.active) == (schedule.id, False) and scheduled_starts(training) == []


@pytest.mark.slow  # Prefect evaluates a proactive trigger about once a minute
def test_a_run_no_worker_takes_is_cancelled_once_it_has_been_late_too_long(project, on_server):
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    edit_yaml(project / "params.yaml", lambda p: p.update(
        pipelines=["quickstart"], monitored=["quickstart"], orchestration={"pools": ["cpu", "gpu"], "late_after_minutes": 0.2}))  # Prefect's least: 10 s
    deploy(load_params(project / "params.yaml"), project)
    with get_client(sync_client=True) as client:
        gpu_step = client.read_deployment_by_name("mastery-step/gpu")  # no gpu worker is up
        due = Scheduled(scheduled_time=datetime.now(UTC) - timedelta(minutes=1))
        run = client.create_flow_run_from_deployment(gpu_step.id, state=due,
                                                     parameters={"step_name": "train", "pipeline": "quickstart"})

        def state() -> str:
            return client.read_flow_run(run.id).state.name

        assert wait_for(lambda: state() == "Late", timeout_s=60)
        assert wait_for(lambda: state() == "Cancelled", timeout_s=90)
