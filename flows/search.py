"""The search flow: a study's workers as concurrent Prefect tasks.

    python flows/search.py quickstart tune    # or: mastery flow search quickstart --kind tune -w 2

Each task runs the library's worker loop (claim a trial, train it, report it) against the
shared study, so the work pool decides where trials run; opening the study, the retry of
stale trials and the final result are the same code `mastery tune` runs.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")  # see training.py

from prefect import flow, task

from mastery.search.runner import run_search, work
from mastery.steps.context import load_context


@task(name="search-worker")
def search_worker(root: str, pipeline: str, kind: str, worker: int, deadline: float | None) -> None:
    work(root, pipeline, kind, worker, deadline)


def launch_tasks(ctx, kind: str, workers: int, deadline: float | None) -> None:
    futures = [search_worker.submit(str(ctx.paths.root), ctx.spec.name, kind, i, deadline) for i in range(workers)]
    for future in futures:
        future.result()  # raises the first worker failure


@flow(name="mastery-search", log_prints=True)
def search_flow(pipeline: str = "quickstart", kind: str = "tune", workers: int = 2, root: str = ".") -> dict:
    """Open or resume the study, run `workers` worker tasks on it, write the result."""
    return run_search(load_context(pipeline, root), kind, workers, launch=launch_tasks)


if __name__ == "__main__":
    search_flow(*sys.argv[1:3])
