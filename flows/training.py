"""The training flow: the catalog's steps as Prefect tasks, in order.

Retries, timeouts and caching are Prefect's; what each step does is the library's. A task's
cache key is the step's fingerprint (code, params, spec keys, input files), so a re-run
skips what DVC would skip; a step whose outputs are gone runs again whatever its key.

    python flows/training.py quickstart      # or: mastery flow run quickstart
"""

from __future__ import annotations

import os
import sys

# A fresh PREFECT_HOME migrates its database on the first run: over 20 s (Prefect's default
# limit for the ephemeral API to start) on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, task  # reads the setting above at import
from prefect.cache_policies import CachePolicy

from mastery.steps.catalog import STEPS, Step
from mastery.steps.context import load_context

TIMEOUT_SECONDS = 3600


class StepInputs(CachePolicy):
    """Cache key: the step's fingerprint over everything it reads."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
        step = next(s for s in STEPS if s.name == inputs["step_name"])
        return step.fingerprint(load_context(inputs["pipeline"], inputs["root"]))


@task(cache_policy=StepInputs(), persist_result=True, timeout_seconds=TIMEOUT_SECONDS, retry_delay_seconds=5)
def run_step(step_name: str, pipeline: str, root: str) -> dict:
    step = next(s for s in STEPS if s.name == step_name)
    return step.run(load_context(pipeline, root))


def as_task(step: Step, ctx):
    return run_step.with_options(
        name=step.name,
        retries=step.retries,
        refresh_cache=not step.outputs_present(ctx),
    )


@flow(name="mastery-training", log_prints=True)
def training_flow(pipeline: str = "quickstart", root: str = ".") -> dict:
    """ingest -> validate -> prepare -> train -> evaluate -> promote -> export."""
    ctx = load_context(pipeline, root)
    results = {}
    for step in STEPS:
        results[step.name] = as_task(step, ctx)(step.name, pipeline, str(ctx.paths.root))
    return results


if __name__ == "__main__":
    training_flow(*sys.argv[1:2])
