"""Run a search: open or resume its study, let workers take trials until the budget is
spent, then write what training should use.

`--workers N` starts N processes on one study (each on its own GPU when there are several);
the Prefect door runs the same `work` loop as concurrent tasks instead.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable

from mastery.errors import MasteryError
from mastery.search.results import RECORD
from mastery.search.searches import SEARCHES, Search
from mastery.search.study import (
    budget_left,
    finished,
    open_storage,
    redacted,
    storage_url,
    study_name,
    trial_claim,
    trial_counts,
)
from mastery.search.tracking import close_study_run, mark_stale_run, study_run
from mastery.steps.context import Context, load_context
from mastery.steps.records import write_json
from mastery.tracking.lineage import data_hash
from mastery.tracking.mlflow_runs import configure
from mastery.training.device import share_cpu
from mastery.training.workers import run_workers

Launcher = Callable[[Context, str, int, float | None], None]


def run_search(ctx: Context, kind: str, workers: int | None = None, launch: Launcher | None = None) -> dict:
    """Search until `trials` trials have finished (or the wall-time cap), then write the result."""
    if getattr(ctx.spec, kind) is None:
        record = {"kind": kind, "skipped": f"{ctx.paths.spec.name} has no '{kind}' section"}
        _replace_directory(ctx, kind, lambda staging: write_json(staging / RECORD, record))
        return record
    configure(ctx.params.tracking, ctx.spec.name)
    search = SEARCHES[kind](ctx)
    config = search.config
    study = open_study(ctx, search, ctx.params.seed)
    deadline = time.time() + config.timeout_minutes * 60 if config.timeout_minutes else None
    while True:
        (launch or launch_processes)(ctx, kind, workers or config.workers, deadline)
        if finished(study) >= config.trials or _past(deadline) or not trial_counts(study)["RUNNING"]:
            break
        # the workers are gone, so trials still RUNNING belong to a dead worker: once their
        # heartbeat is past the grace period the next round fails and re-queues them
        time.sleep(config.grace_seconds + config.heartbeat_seconds)
    return finish(ctx, search, study)


def open_study(ctx: Context, search: Search, seed: int, created: bool = False):
    """The search's study, made (with its MLflow run) unless `created`: workers join the study
    `run_search` opened, each with its own sampler seed."""
    import optuna

    data = data_hash(ctx.paths.prepared)
    storage = open_storage(ctx, search.config, on_stale_trial=mark_stale_run)
    name = study_name(ctx.spec.name, search.kind, search.definition() | {"data": data})
    if created:
        return optuna.load_study(study_name=name, storage=storage, sampler=search.sampler(seed), pruner=search.pruner())
    study = optuna.create_study(study_name=name, storage=storage, directions=search.directions,
                                sampler=search.sampler(seed), pruner=search.pruner(), load_if_exists=True)
    experiment = f"{ctx.params.tracking.experiment_prefix}/{ctx.spec.name}"
    study_run(study, experiment, f"{ctx.spec.name}/{search.kind}", search.definition() | {"data": data})
    return study


def work(root: str, pipeline: str, kind: str, worker: int = 0, deadline: float | None = None,
         gpu: int | None = None, workers: int = 1) -> None:
    """One worker of `workers` on this machine: claim a trial while the budget lasts, train it,
    report it; repeat."""
    import optuna

    from mastery.data.prepare import PreparedData

    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)  # before CUDA starts in this process
    share_cpu(workers)
    ctx = load_context(pipeline, root)
    configure(ctx.params.tracking, ctx.spec.name)
    search = SEARCHES[kind](ctx)
    study = open_study(ctx, search, ctx.params.seed + worker, created=True)  # distinct seeds: no duplicate draws
    objective = search.objective(PreparedData.load(ctx.paths.prepared), study.user_attrs["mlflow_run_id"])
    claim = trial_claim(ctx, search.config, study.study_name)
    try:
        while not _past(deadline):
            claim.acquire()
            try:
                optuna.storages.fail_stale_trials(study)
                if not budget_left(study, search.config.trials):
                    return
                study.optimize(_released(claim, objective), n_trials=1)
            finally:
                claim.release()
    finally:
        claim.close()


def _released(claim, objective: Callable) -> Callable:
    """The objective, releasing the claim first: by then Optuna has created the trial."""

    def run(trial):
        claim.release()
        return objective(trial)

    return run


def launch_processes(ctx: Context, kind: str, workers: int, deadline: float | None) -> None:
    """One worker in this process, or `workers` spawned processes, each on its own GPU if several."""
    root, pipeline = str(ctx.paths.root), ctx.spec.name
    if workers == 1:
        work(root, pipeline, kind, 0, deadline)
        return
    import torch

    gpus = torch.cuda.device_count()
    exits = run_workers(work, [(root, pipeline, kind, i, deadline, i % gpus if gpus > 1 else None, workers)
                               for i in range(workers)], [f"{kind}-worker-{i}" for i in range(workers)])
    failed = {name: code for name, code in exits.items() if code != 0}
    if failed:
        raise MasteryError(f"{kind}: workers failed {failed}; finished trials are kept, run again to resume")


def finish(ctx: Context, search: Search, study) -> dict:
    """Write the result (and plots) for train, and close the study's MLflow run with them."""
    from mastery.search.plots import plot_study

    counts = dict(trial_counts(study))
    url = storage_url(ctx, search.config)

    def write(staging):
        record = search.finish(study, staging) | {"study": study.study_name, "storage": redacted(url),
                                                  "trials": counts}
        write_json(staging / RECORD, record)
        plot_study(study, search, staging)
        return record

    record = _replace_directory(ctx, search.kind, write)
    directory = ctx.paths.search(search.kind)
    close_study_run(study.user_attrs["mlflow_run_id"], {k: record[k] for k in ("values", "trial")},
                    {f"trials_{k.lower()}": v for k, v in counts.items()}, sorted(directory.iterdir()))
    return record


def _replace_directory(ctx: Context, kind: str, write: Callable):
    """Write the search's outputs beside the old ones, then swap: never a half-written result."""
    directory = ctx.paths.search(kind)
    staging = directory.with_name(f".{kind}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    outcome = write(staging)
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(staging, directory)
    return outcome


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.time() >= deadline

