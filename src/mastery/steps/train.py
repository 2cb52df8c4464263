"""Train: every candidate of the pipeline, each as an MLflow run, resumable after a kill;
one after another, or side by side in worker processes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from mastery.config import CandidateSpec
from mastery.data.prepare import PreparedData
from mastery.errors import MasteryError
from mastery.evaluation.cost import count_parameters
from mastery.models.artifact import WEIGHTS, load_trained, save_trained
from mastery.paths import PipelinePaths
from mastery.steps.catalog import CODE, step_named
from mastery.steps.context import Context
from mastery.steps.data_parallel import fit_data_parallel
from mastery.steps.records import write_json
from mastery.tracking import lineage
from mastery.tracking.mlflow_runs import EpochLogger, configure, flatten, set_note_section
from mastery.training.build import build_trainer
from mastery.training.callbacks import Callback
from mastery.training.device import resolve_device, share_cpu
from mastery.training.trainer import Trainer
from mastery.training.workers import run_workers


def train(ctx: Context, callbacks: Sequence[Callback] = (), workers: int = 1) -> dict[str, dict]:
    """Train each candidate on the prepared splits; returns its best validation record.
    `workers` > 1 trains that many candidates at once, each in its own process."""
    shutil.rmtree(ctx.paths.models, ignore_errors=True)
    configure(ctx.params.tracking, ctx.spec.name)  # here, not in racing workers: it may create the store
    if workers > 1 and len(ctx.candidates) > 1:
        return _train_side_by_side(ctx, min(workers, len(ctx.candidates)))
    data = PreparedData.load(ctx.paths.prepared)
    data_hash = lineage.data_hash(ctx.paths.prepared)
    return {c.name: train_candidate(ctx, c, data, data_hash, callbacks) for c in ctx.candidates}


def _train_side_by_side(ctx: Context, workers: int) -> dict[str, dict]:
    """The candidates dealt round-robin to `workers` processes, each on its share of the cores.
    A worker that fails does not stop the others: their models are kept, and the failure is
    raised once all are done."""
    names = [c.name for c in ctx.candidates]
    shares = [names[i::workers] for i in range(workers)]
    exits = run_workers(train_named, [(str(ctx.paths.root), ctx.spec.name, share, workers) for share in shares],
                        [f"train-worker-{i}" for i in range(workers)])
    failed = [name for code, share in zip(exits.values(), shares, strict=True) if code for name in share]
    if failed:
        raise MasteryError(f"train: the workers training {failed} failed (their errors are above); the other "
                           f"candidates' models are kept, and checkpoints resume the rest when run again")
    return {name: json.loads((ctx.paths.candidate(name) / "run.json").read_text())["best"] for name in names}


def train_named(root: str, pipeline: str, names: Sequence[str], workers: int = 1) -> None:
    """Train some candidates of a pipeline in this process: what a side-by-side worker runs."""
    from mastery.steps.context import load_context

    share_cpu(workers)
    ctx = load_context(pipeline, root)
    configure(ctx.params.tracking, ctx.spec.name)
    data = PreparedData.load(ctx.paths.prepared)
    data_hash = lineage.data_hash(ctx.paths.prepared)
    for candidate in ctx.candidates:
        if candidate.name in names:
            train_candidate(ctx, candidate, data, data_hash)


def train_candidate(
    ctx: Context, candidate: CandidateSpec, data: PreparedData, data_hash: str, callbacks: Sequence[Callback] = ()
) -> dict:
    import mlflow

    start = _start(ctx, candidate)
    fingerprint = lineage.params_hash({"candidate": dataclasses.asdict(candidate), "seed": ctx.params.seed, "data": data_hash}
                                      | ({"start": lineage.file_digest(start / WEIGHTS, "sha256")} if start else {}))
    device = resolve_device(ctx.params.device)
    tags = {
        "pipeline": ctx.spec.name,
        "candidate": candidate.name,
        "model_family": candidate.model,
        "git_commit": lineage.git_commit(ctx.paths.root),
        "code_hash": lineage.code_hash([CODE / c for c in step_named("train").code]),
        "data_hash": data_hash,
        "params_hash": fingerprint,
    }
    with mlflow.start_run(run_name=f"{ctx.spec.name}/{candidate.name}", tags=tags) as run:
        _close_killed_runs(ctx, candidate, run.info.run_id)
        mlflow.log_params(flatten({"model": candidate.params, "train": dataclasses.asdict(candidate.train)}) | {
            "model.family": candidate.model, "seed": ctx.params.seed, "device": str(device)})
        _log_inputs(ctx, data, data_hash)
        trainer, meta = build_trainer(
            candidate, ctx.task, data, device, ctx.params.seed, ctx.params.deterministic,
            callbacks=[EpochLogger(run.info.run_id, partial(ctx.task.epoch_texts, stats=data.stats),
                                   partial(ctx.task.epoch_figures, val=data.splits["val"], stats=data.stats)),
                       *callbacks],
            checkpoint_dir=ctx.paths.checkpoints(candidate.name),
            fingerprint=fingerprint,
            name=f"{ctx.spec.name}/{candidate.name}",
            start_from=load_trained(start)[0] if start else None,
        )
        if candidate.train.processes > 1:
            fit_data_parallel(ctx, candidate, trainer, run.info.run_id, fingerprint)
        else:
            trainer.fit(data.splits["train"], data.splits["val"])
        history = trainer.history
        best = trainer.best_record()
        mlflow.log_metrics({k: v for k, v in best.items() if k != "epoch"} | {"kept_epoch": best["epoch"]})
        out = ctx.paths.candidate(candidate.name)
        save_trained(out, trainer.model, meta | {"params_hash": fingerprint, "data_hash": data_hash})
        mlflow.set_tag("weights_sha256", lineage.file_digest(out / WEIGHTS, "sha256"))
        write_json(out / "history.json", history)
        write_json(out / "run.json", {"run_id": run.info.run_id, "best": best, "monitor": trainer.monitor})
        set_note_section(run.info.run_id, "Training", _training_note(ctx, candidate, trainer, data, data_hash))
    return best


def _close_killed_runs(ctx: Context, candidate: CandidateSpec, run_id: str) -> None:
    """Runs of this candidate still RUNNING are a killed process's (an exception ends a run as
    FAILED; a SIGKILL ends nothing): KILLED, pointing at the run that resumes their checkpoint,
    so the MLflow UI does not show them running forever."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_run(run_id).info.experiment_id
    query = (f"tags.pipeline = '{ctx.spec.name}' and tags.candidate = '{candidate.name}' "
             "and attributes.status = 'RUNNING'")
    for stale in client.search_runs([experiment], query):
        if stale.info.run_id != run_id:
            client.set_tag(stale.info.run_id, "mastery.resumed_by", run_id)
            client.set_terminated(stale.info.run_id, "KILLED")


def _start(ctx: Context, candidate: CandidateSpec) -> Path | None:
    """Where the trained model a candidate starts from is (`start_from: <pipeline>/<candidate>`),
    or None; its weights' digest is part of the run's fingerprint, so a retrained source is not
    resumed from a checkpoint made over the old one."""
    if candidate.start_from is None:
        return None
    pipeline, _, name = candidate.start_from.partition("/")
    path = PipelinePaths(pipeline, ctx.paths.root).candidate(name)
    if not (path / WEIGHTS).is_file():
        raise MasteryError(f"candidate '{candidate.name}' starts from '{candidate.start_from}', which has no "
                           f"trained model at {path}; run `mastery train --pipeline {pipeline}` first")
    return path


def _log_inputs(ctx: Context, data: PreparedData, data_hash: str) -> None:
    """The prepared splits as the run's dataset inputs, under DVC's hash of them, and the GX result."""
    import warnings

    import mlflow

    for split, context in (("train", "training"), ("val", "validation")):
        arrays = {name: tensor.numpy() for name, tensor in data.splits[split].items()}
        with warnings.catch_warnings():  # MLflow registers its local-path source twice and says so
            warnings.filterwarnings("ignore", "The specified dataset source can be interpreted in multiple ways")
            dataset = mlflow.data.from_numpy(arrays, source=str(ctx.paths.prepared),
                                             name=f"{ctx.spec.dataset}/{split}", digest=data_hash)
        _log_input(dataset, context)
    if (ctx.paths.validation / "result.json").is_file():
        mlflow.log_artifact(str(ctx.paths.validation / "result.json"), "validation")


def _log_input(dataset, context: str) -> None:
    """Log a dataset input, once more if another process made the same dataset row meanwhile:
    MLflow checks for the row, then inserts it, so workers side by side race."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.log_input(dataset, context=context)
    except MlflowException:
        mlflow.log_input(dataset, context=context)  # the row exists now, so this links to it


def _training_note(ctx: Context, candidate: CandidateSpec, trainer: Trainer, data: PreparedData, data_hash: str) -> str:
    best, monitor = trainer.best_record(), trainer.monitor
    counts = ", ".join(f"{data.stats['counts'][s]:,} {s}" for s in ("train", "val"))
    return (f"**{candidate.name}** (family `{candidate.model}`, {count_parameters(trainer.model):,} parameters) "
            f"on `{ctx.spec.dataset}` ({counts}; prepared data `{data_hash}`), device `{trainer.device}`.\n\n"
            f"Kept epoch {best['epoch']} of {len(trainer.history)} by `{monitor}` = {best[monitor]:.4f} "
            f"(val loss {best['val_loss']:.4f}).")
