"""The drift flow: monitor, and on drift retrain through the gate.

    python flows/monitoring.py quickstart     # or: mastery flow drift quickstart --since 1h --new-data batch.npz

A task runs `mastery monitor` (the library's step). Without drift the flow ends there. On
drift, the new labelled batches given (if any) go to `incoming/<pipeline>/`, and the training
flow runs as a subflow: ingest sees the new source content, so the steps it changes re-run,
and the gate judges the retrained model against the champion on the new test split. Only a
pass moves `@champion` (the flow never promotes by itself), and a running `mastery serve`
picks the new champion up on its next look at the alias.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")  # see training.py

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from flows.training import training_flow
from mastery.errors import MasteryError
from mastery.steps.catalog import MONITOR
from mastery.steps.context import load_context


@task(name="monitor", cache_policy=NO_CACHE, timeout_seconds=900, retries=1, retry_delay_seconds=5)
def monitor_task(pipeline: str, root: str, since: str | None = None, files: list[str] | None = None) -> dict:
    """The drift check; a failure the user can act on (no champion, no log) fails it without retries."""
    ctx = load_context(pipeline, root)
    try:
        return MONITOR.execute(ctx, since=since, files=files)
    except MasteryError as error:
        return Failed(message=f"{MONITOR.stage(ctx)}: {error}")


@task(name="admit-new-data", cache_policy=NO_CACHE)
def admit_task(pipeline: str, root: str, files: list[str]) -> list[str]:
    from mastery.data.incoming import admit

    return [str(path) for path in admit(files, load_context(pipeline, root).paths.incoming)]


@flow(name="mastery-drift", log_prints=True)
def drift_flow(pipeline: str = "quickstart", root: str = ".", since: str | None = None,
               new_data: list[str] | None = None, files: list[str] | None = None, dispatch: bool = False) -> dict:
    """Monitor the prediction log from `since` (or `files`); on drift, admit `new_data` and
    run the training flow (`dispatch`: each step on its pool's workers, as the scheduled
    deployment does). Returns the verdict and, after a retrain, the gate's decision."""
    state = monitor_task(pipeline, root, since, files, return_state=True)
    if state.is_failed():
        return Failed(message=state.message)
    check = state.result()
    outcome = {"verdict": check["verdict"], "drift": check["drift"], "drifted": check["drifted"],
               "version": check["version"], "report": check["reports"].get("html"), "retrained": False}
    print(f"{pipeline} v{check['version']}: {check['verdict']}")
    if not check["drift"]:
        return outcome
    admitted = admit_task(pipeline, root, new_data) if new_data else []
    trained = training_flow(pipeline, root, dispatch, return_state=True)
    if trained.is_failed():
        return Failed(message=f"drift, then the retrain failed: {trained.message}")
    steps = trained.result()  # a step DVC showed done ran nothing: None
    if dispatch:  # the steps' results stay on their workers: their states, the decision in MLflow
        return outcome | {"retrained": steps["train"] != "Cached", "new_data": admitted, "steps": steps}
    if steps["train"] is None:
        print(f"drift, but nothing new to train on: add labelled batches to incoming/{pipeline}/ (--new-data)")
        return outcome | {"new_data": admitted}
    promotion = steps["promote"]
    print(promotion["summary"])
    return outcome | {"retrained": True, "new_data": admitted, "challenger": promotion["challenger"],
                      "promoted": promotion["promoted"], "champion": promotion["champion_after"]}


if __name__ == "__main__":
    drift_flow(*sys.argv[1:2])
