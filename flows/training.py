"""The training flow: the catalog's steps as Prefect tasks, in order.

Retries and timeouts are Prefect's; what each step does is the library's, and whether it
needs to run is DVC's: a step that `dvc.lock` shows done (nothing it reads changed, its
outputs intact) ends `Cached` without running, and a step the flow runs is recorded in
`dvc.lock`, so `dvc repro` afterwards finds nothing to do.

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
from mastery.steps.catalog import STEPS, step_named
from mastery.steps.context import load_context

TIMEOUT_SECONDS = 3600


@task(cache_policy=NO_CACHE, timeout_seconds=TIMEOUT_SECONDS, retry_delay_seconds=5)
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


@flow(name="mastery-training", log_prints=True)
def training_flow(pipeline: str = "quickstart", root: str = "."):
    """ingest -> validate -> prepare -> tune -> nas -> train -> evaluate -> promote -> export;
    the first failed step stops the flow with its message."""
    try:
        ctx = load_context(pipeline, root)
    except MasteryError as error:
        return Failed(message=str(error))
    results = {}
    for step in STEPS:
        task_run = run_step.with_options(name=step.name, retries=step.retries)
        state = task_run(step.name, pipeline, str(ctx.paths.root), return_state=True)
        if state.is_failed():
            return Failed(message=state.message)
        results[step.name] = state.result()
    return results


if __name__ == "__main__":
    training_flow(*sys.argv[1:2])
