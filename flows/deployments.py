"""Deployments in one file: what runs by itself, on which work pool, with which parameters.

    mastery deploy                # on PREFECT_API_URL's server: the work pools, then these
    mastery worker --pool cpu     # a process worker in this clone (or: prefect worker start)

- `mastery-training/<pipeline>`: nightly (params.yaml `orchestration.training`), on `cpu`; it
  dispatches each step to `mastery-step/<pool>` (train, tune and nas to `gpu` when there is one).
- `mastery-step/<pool>`: one step on whichever worker of the pool takes it (on demand).
- `mastery-search/<pipeline>`: a study's workers as tasks, for pipelines with a search (on demand).
- `mastery-drift/<pipeline>`: hourly (`orchestration.monitoring`), for the pipelines params.yaml
  lists under `monitored`: the last window of served traffic against the data; on drift, the
  training deployment's flow through the gate.

Every deployment runs in the worker's own clone (`MASTERY_ROOT`, which `mastery worker` sets),
so machines share only the servers and the DVC remote. Redeploying is an update, not a
re-creation: schedules are matched by slug and kept, so no duplicate runs are scheduled
and a schedule someone paused stays paused — both are long-standing complaints about
Prefect's own redeploy, which drops and re-creates schedules (new ids, new runs, active).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mastery.config import Params
from mastery.config.loading import load_spec
from mastery.config.schema import Schedule

ROOT_VARIABLE = "MASTERY_ROOT"  # the clone a worker runs flows in
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
PULL_STEPS = [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $MASTERY_ROOT }}"}}]


@dataclass(frozen=True)
class DeploymentSpec:
    flow: str  # the flow's name
    name: str
    entrypoint: str  # path:function, relative to the clone
    pool: str
    description: str
    parameters: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    schedule: Schedule | None = None
    concurrency: int | None = None  # runs of this deployment at once

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


def deployment_specs(params: Params, root: Path) -> list[DeploymentSpec]:
    orchestration = params.orchestration
    specs = [
        DeploymentSpec("mastery-step", pool, "flows/training.py:step_flow", pool,
                       f"One pipeline step on a {pool} worker (the training flow dispatches them)", tags=("step", pool))
        for pool in orchestration.pools
    ]
    for pipeline in params.pipelines:
        specs.append(DeploymentSpec(
            "mastery-training", pipeline, "flows/training.py:training_flow", "cpu",
            f"The {pipeline} pipeline, each step on its pool", {"pipeline": pipeline, "dispatch": True},
            ("training", pipeline), orchestration.training, concurrency=1))  # one run of a pipeline at a time
        spec = load_spec(pipeline, root)
        for kind in ("tune", "nas"):
            if getattr(spec, kind) is not None:
                specs.append(DeploymentSpec(
                    "mastery-search", f"{pipeline}-{kind}", "flows/search.py:search_flow",
                    "gpu" if "gpu" in orchestration.pools else "cpu", f"The {pipeline} {kind} study, on demand",
                    {"pipeline": pipeline, "kind": kind}, ("search", pipeline)))
    for pipeline in params.monitored:
        specs.append(DeploymentSpec(
            "mastery-drift", pipeline, "flows/monitoring.py:drift_flow", "cpu",
            f"Drift of {pipeline}'s served traffic; on drift a retrain through the gate",
            {"pipeline": pipeline, "since": orchestration.monitoring_window, "dispatch": True},
            ("monitoring", pipeline), orchestration.monitoring, concurrency=1))
    return specs


def deploy(params: Params, root: Path) -> list[str]:
    """Create or update the work pools and every deployment; the deployments' names."""
    from prefect.client.orchestration import get_client

    specs = deployment_specs(params, root)
    with get_client(sync_client=True) as client:
        for pool in params.orchestration.pools:
            _ensure_pool(client, pool, params.orchestration.concurrency.get(pool))
        for spec in specs:
            _upsert(client, spec)
    _cancel_late_runs(params.orchestration.late_after_minutes)
    return [spec.full_name for spec in specs]


LATE_AUTOMATION = "mastery-cancel-late-runs"


def _cancel_late_runs(minutes: float) -> None:
    """An automation that cancels a run which went Late (no worker took it when it was due)
    and was still not picked up `minutes` later: a pool without workers never piles up a
    backlog that all starts at once when a worker comes back."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.events.actions import CancelFlowRun
    from prefect.events.schemas.automations import EventTrigger, Posture

    trigger = EventTrigger(
        after={"prefect.flow-run.Late"},
        expect={"prefect.flow-run.Pending", "prefect.flow-run.Running", "prefect.flow-run.Cancelling",
                "prefect.flow-run.Cancelled", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                "prefect.flow-run.Crashed"},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=timedelta(minutes=minutes),
    )
    automation = Automation(name=LATE_AUTOMATION, description=_cancel_late_runs.__doc__.split("\n\n")[0],
                            trigger=trigger, actions=[CancelFlowRun()])
    try:
        automation.id = Automation.read(name=LATE_AUTOMATION).id
    except ValueError:  # Prefect's way of saying there is none of that name
        automation.create()
    else:
        automation.update()


def _ensure_pool(client, name: str, concurrency: int | None) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    try:
        client.read_work_pool(name)
    except ObjectNotFound:
        client.create_work_pool(WorkPoolCreate(name=name, type="process", concurrency_limit=concurrency))
    else:
        client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=concurrency))


def _upsert(client, spec: DeploymentSpec) -> None:
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    fields = {"parameters": spec.parameters, "tags": list(spec.tags), "work_pool_name": spec.pool,
              "description": spec.description, "entrypoint": spec.entrypoint, "pull_steps": PULL_STEPS,
              "concurrency_limit": spec.concurrency}
    try:
        existing = client.read_deployment_by_name(spec.full_name)
    except ObjectNotFound:
        client.create_deployment(flow_id=client.create_flow_from_name(spec.flow), name=spec.name,
                                 schedules=_schedules(spec), parameter_openapi_schema=_parameter_schema(spec),
                                 **fields)
        return
    client.update_deployment(existing.id, DeploymentUpdate(**fields))
    _reconcile_schedules(client, existing, spec)


def _reconcile_schedules(client, existing, spec: DeploymentSpec) -> None:
    """Keep a schedule of the same slug (its id, hence its scheduled runs, and whether it is
    paused); change only its timing if that changed; add what is new, drop what is gone."""
    wanted = {s.slug: s for s in _schedules(spec)}
    for current in existing.schedules:
        if current.slug not in wanted:
            client.delete_deployment_schedule(existing.id, current.id)
            continue
        schedule = wanted.pop(current.slug).schedule
        if schedule != current.schedule:
            client.update_deployment_schedule(existing.id, current.id, schedule=schedule)
    if wanted:
        client.create_deployment_schedules(existing.id, list(wanted.values()))


def _schedules(spec: DeploymentSpec) -> list:
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    schedule = spec.schedule
    if schedule is None or (schedule.cron is None and schedule.interval_seconds is None):
        return []
    if schedule.cron is not None:
        timing = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    else:  # a fixed anchor: the same schedule compares equal on every redeploy
        timing = IntervalSchedule(interval=schedule.interval_seconds, anchor_date=ANCHOR, timezone=schedule.timezone)
    return [DeploymentScheduleCreate(schedule=timing, active=True, slug=f"{spec.name}-schedule",
                                     max_scheduled_runs=schedule.max_scheduled_runs)]


def _parameter_schema(spec: DeploymentSpec) -> dict:
    """The flow's parameters as JSON schema: the form the Prefect UI offers for a custom run."""
    import importlib

    from prefect.utilities.callables import parameter_schema

    path, function = spec.entrypoint.split(":")
    flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), function)
    return parameter_schema(flow.fn).model_dump()


def worker(pool: str, root: Path, gpu: int | None = None) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of a process worker for `pool` in the clone `root`. A gpu worker
    pins its runs to one device (`CUDA_VISIBLE_DEVICES`) and sets their `device`."""
    import os
    import sys

    from mastery.config.loading import DEVICE_ENV

    env = os.environ | {ROOT_VARIABLE: str(Path(root).resolve())}
    if pool == "gpu":
        env[DEVICE_ENV] = "cuda"
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    prefect = str(Path(sys.executable).with_name("prefect"))
    return [prefect, "worker", "start", "--pool", pool, "--type", "process"], env
