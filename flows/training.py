"""The training flow: the catalog's steps in order, on this machine or on the work pools.

Retries and timeouts are Prefect's (each step's timeout from the catalog or params.yaml);
what each step does is the library's, and whether it needs to run is DVC's: a step that
`dvc.lock` shows done (nothing it reads changed, its outputs intact) ends `Cached` without
running, and a step the flow runs is recorded in `dvc.lock`, so `dvc repro` afterwards finds
nothing to do.

As a script (`mastery flow run`) every step is a task here. From a deployment (`dispatch`),
every step is a run of the `mastery-step` deployment of its pool (train, tune and nas on
`gpu` when there is one), on whichever worker takes it: data goes through the DVC remote, and
the `dvc.lock` that records it from step to step as an artifact of each step's run (which the
Prefect UI shows: what every step read and wrote).

    python flows/training.py quickstart      # or: mastery flow run quickstart
"""

from __future__ import annotations

import os
import sys

# A fresh PREFECT_HOME migrates its database on the first run: over 20 s (Prefect's default
# limit for the ephemeral API to start) on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, task  # reads the setting above at import
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed

from mastery.errors import MasteryError
from mastery.steps import handover
from mastery.steps.catalog import STEPS, Step, step_named
from mastery.steps.context import load_context

STEP_DEPLOYMENT = "mastery-step"  # one deployment of `step_flow` per work pool, named after it
LOCK_ARTIFACT = "dvc-lock"


@task(cache_policy=NO_CACHE, retry_delay_seconds=5)
def run_step(step_name: str, pipeline: str, root: str):
    """Skip a step dvc.lock shows done; else run and record it. A failure the user can act on
    (bad data, a refused gate) ends the task Failed with its message, not retried; anything
    else raises, so Prefect retries it and logs the traceback."""
    step, ctx = step_named(step_name), load_context(pipeline, root)
    if step.is_done(ctx):
        return Completed(name="Cached", message=f"{step.stage(ctx)} is up to date in dvc.lock")
    try:
        return step.execute(ctx)
    except MasteryError as error:
        return Failed(message=f"{step.stage(ctx)}: {error}")


@flow(name=STEP_DEPLOYMENT, log_prints=True)
def step_flow(step_name: str, pipeline: str, lock: str | None = None, root: str = "."):
    """One step on this worker: the run's dvc.lock and the step's inputs in, its outputs and
    the updated lock out (`mastery.steps.handover`)."""
    step, ctx = step_named(step_name), load_context(pipeline, root)
    handover.receive(ctx.paths.root, lock, step.handed_over(ctx.paths), step.outs(ctx.paths))
    state = _as_task(step, ctx)(step_name, pipeline, str(ctx.paths.root), return_state=True)
    if state.is_completed():
        _publish_lock(handover.send(ctx.paths.root, step.outs(ctx.paths)))
    return state  # the run ends as its step did: Completed, Cached or Failed


@flow(name="mastery-training", log_prints=True)
def training_flow(pipeline: str = "quickstart", root: str = ".", dispatch: bool = False):
    """ingest -> validate -> prepare -> tune -> nas -> train -> evaluate -> promote -> export;
    the first failed step stops the flow with its message."""
    try:
        ctx = load_context(pipeline, root)
    except MasteryError as error:
        return Failed(message=str(error))
    results, lock = {}, None
    for step in STEPS:
        if dispatch:
            state = _dispatched(step, ctx, lock)
        else:
            state = _as_task(step, ctx)(step.name, pipeline, str(ctx.paths.root), return_state=True)
        if not state.is_completed():
            return Failed(message=state.message or f"{step.name}: {state.name}")
        if dispatch:  # the step's result stays on its worker: its state says Completed or Cached
            results[step.name], lock = state.name, _lock_of(state.state_details.flow_run_id)
        else:
            results[step.name] = state.result()
    return results


def _as_task(step: Step, ctx):
    _, timeout = step.placement(ctx)
    return run_step.with_options(name=step.name, retries=step.retries, timeout_seconds=timeout)


def _dispatched(step: Step, ctx, lock: str | None):
    """Run `step` as a run of its pool's step deployment; its final state."""
    from prefect.deployments import run_deployment

    pool, timeout = step.placement(ctx)
    run = run_deployment(f"{STEP_DEPLOYMENT}/{pool}", timeout=timeout, as_subflow=True,
                         parameters={"step_name": step.name, "pipeline": ctx.spec.name, "lock": lock})
    return run.state


def _publish_lock(lock: str) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=f"```yaml\n{lock}```", key=LOCK_ARTIFACT,
                             description="dvc.lock after this step: what the next step starts from")


def _lock_of(flow_run_id) -> str:
    """The dvc.lock a step's run published."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[LOCK_ARTIFACT])),
                                          flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    if not artifacts:
        raise MasteryError(f"step run {flow_run_id} published no {LOCK_ARTIFACT}")
    return artifacts[0].data.removeprefix("```yaml\n").removesuffix("```")


if __name__ == "__main__":
    training_flow(*sys.argv[1:2])
