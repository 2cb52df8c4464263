"""Train: every candidate of the pipeline, each as an MLflow run, resumable after a kill."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence

from mastery.config import CandidateSpec
from mastery.data.prepare import PreparedData
from mastery.models.artifact import build_classifier, save_trained
from mastery.steps.context import Context
from mastery.steps.records import write_json
from mastery.tasks import build_task
from mastery.tracking import lineage
from mastery.tracking.mlflow_runs import EpochLogger, configure, flatten
from mastery.training.device import resolve_device, seed_everything
from mastery.training.trainer import Callback, Trainer


def train(ctx: Context, callbacks: Sequence[Callback] = ()) -> dict[str, dict]:
    """Train each candidate on the prepared splits; returns its best validation record."""
    configure(ctx.params.tracking, ctx.spec.name)
    data = PreparedData.load(ctx.paths.prepared)
    data_hash = lineage.data_hash(ctx.paths.prepared)
    shutil.rmtree(ctx.paths.models, ignore_errors=True)
    return {c.name: train_candidate(ctx, c, data, data_hash, callbacks) for c in ctx.candidates}


def candidate_meta(ctx: Context, candidate: CandidateSpec, data: PreparedData) -> dict:
    """What rebuilds the candidate's model: family, params, input shape, classes, statistics."""
    return {
        "candidate": candidate.name,
        "family": candidate.model,
        "params": candidate.params,
        "in_shape": list(ctx.dataset.shape),
        "classes": list(ctx.dataset.classes),
        "mean": data.mean,
        "std": data.std,
    }


def train_candidate(
    ctx: Context, candidate: CandidateSpec, data: PreparedData, data_hash: str, callbacks: Sequence[Callback] = ()
) -> dict:
    import mlflow

    seed_everything(ctx.params.seed, ctx.params.deterministic)
    meta = candidate_meta(ctx, candidate, data)
    fingerprint = lineage.params_hash({"candidate": dataclasses.asdict(candidate), "seed": ctx.params.seed, "data": data_hash})
    tags = {
        "pipeline": ctx.spec.name,
        "candidate": candidate.name,
        "model_family": candidate.model,
        "git_commit": lineage.git_commit(ctx.paths.root),
        "data_hash": data_hash,
        "params_hash": fingerprint,
    }
    with mlflow.start_run(run_name=f"{ctx.spec.name}/{candidate.name}", tags=tags) as run:
        mlflow.log_params(flatten({"model": meta["params"], "train": dataclasses.asdict(candidate.train)}) | {
            "model.family": candidate.model, "seed": ctx.params.seed, "device": ctx.params.device})
        if (ctx.paths.validation / "result.json").is_file():
            mlflow.log_artifact(str(ctx.paths.validation / "result.json"), "validation")
        trainer = Trainer(
            build_classifier(meta),
            build_task(ctx.spec.task),
            candidate.train,
            device=resolve_device(ctx.params.device),
            callbacks=[EpochLogger(run.info.run_id), *callbacks],
            checkpoint_dir=ctx.paths.checkpoints(candidate.name),
            fingerprint=fingerprint,
            seed=ctx.params.seed,
            name=f"{ctx.spec.name}/{candidate.name}",
        )
        history = trainer.fit(data.splits["train"], data.splits["val"])
        best = trainer.best_record()
        mlflow.log_metrics({f"best_{k}": v for k, v in best.items() if k != "epoch"})
        out = ctx.paths.candidate(candidate.name)
        save_trained(out, trainer.model, meta | {"params_hash": fingerprint, "data_hash": data_hash})
        write_json(out / "history.json", history)
        write_json(out / "run.json", {"run_id": run.info.run_id, "best": best})
    return best
