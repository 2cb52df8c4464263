"""Transfer: a trained candidate adapted to a small target dataset, by feature extraction and by
fine-tuning, against training from scratch (textbook ch. 9).

Every mode trains on the same budget, seed and examples, so at each number of target examples
the table says what the pretrained backbone is worth. Writes `reports/transfer/<pipeline>/`
(transfer.md, transfer.json, transfer.png, the target data's validation) and logs a run per
mode and size, nested under one run that holds the table and the plot.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

import torch

from mastery.config import CandidateSpec
from mastery.config.schema import TokenizerConfig, TransferConfig
from mastery.data.prepare import PreparedData, write_splits
from mastery.data.registry import get_dataset
from mastery.data.subsets import balanced_subset
from mastery.errors import MasteryError
from mastery.evaluation import score_model
from mastery.evaluation.plots import plot_accuracy_vs_examples
from mastery.evaluation.transfer import MODES, write_transfer_table
from mastery.models.artifact import TOKENIZER, build_trained, family_net, load_trained, model_meta
from mastery.steps.context import Context
from mastery.steps.records import write_json
from mastery.tasks import build_task
from mastery.tasks.base import take
from mastery.tracking import lineage
from mastery.tracking.mlflow_runs import EpochLogger, configure, flatten, log_metrics
from mastery.training.build import build_trainer
from mastery.training.device import resolve_device, seed_everything
from mastery.training.transfer import UnfreezeFeatures, freeze, transplant_features
from mastery.validation import validate_raw


def transfer(ctx: Context) -> dict:
    """Train every mode at every size on the target; write and log the comparison."""
    import mlflow

    cfg = ctx.spec.transfer
    if cfg is None:
        raise MasteryError(f"pipeline '{ctx.spec.name}' has no `transfer` section")
    trained, source_meta = load_trained(ctx.paths.candidate(cfg.source))
    source = family_net(trained)  # the family, behind the source data's standardisation layer
    shutil.rmtree(ctx.paths.transfer, ignore_errors=True)
    data = _target(ctx, cfg)
    task = build_task(cfg.task, data.stats["modality"]) if cfg.task else ctx.task
    train = data.splits["train"]
    configure(ctx.params.tracking, f"{ctx.spec.name}-transfer")
    tags = {"pipeline": ctx.spec.name, "source": cfg.source, "source_params_hash": source_meta["params_hash"],
            "git_commit": lineage.git_commit(ctx.paths.root)}
    results = []
    with mlflow.start_run(run_name=f"{ctx.spec.name}/transfer", tags=tags):
        mlflow.log_params(flatten({"transfer": dataclasses.asdict(cfg)}))
        labels = train["label"].numpy()
        for size in cfg.sizes:
            subset = torch.from_numpy(balanced_subset(labels, len(labels) if size == "all" else size, ctx.params.seed))
            for mode in MODES:
                results.append(_train_mode(ctx, task, mode, source, source_meta, take(train, subset), data))
        report = {"source": f"{ctx.spec.name}/{cfg.source}", "dataset": cfg.dataset, "modes": list(MODES),
                  "budget": dataclasses.asdict(cfg.train), "results": results}
        out = ctx.paths.transfer
        write_json(out / "transfer.json", report)
        note = (f"`{cfg.source}` trained on `{ctx.spec.dataset}`, adapted to `{cfg.dataset}`; test accuracy on "
                f"{data.stats['counts']['test']:,} held-out examples; every mode {cfg.train.epochs} epochs, "
                f"batch {cfg.train.batch_size}.")
        write_transfer_table(results, out / "transfer.md", f"Transfer learning: {ctx.spec.name}", note)
        plot_accuracy_vs_examples(results, MODES, out / "transfer.png")
        mlflow.log_artifacts(str(out), "transfer")
    return report


def _target(ctx: Context, cfg: TransferConfig) -> PreparedData:
    """The target's validated, seeded splits; texts tokenized by the source's own tokenizer."""
    info = get_dataset(cfg.dataset)
    raw = info.load(ctx.params)
    validate_raw(raw, info, ctx.paths.transfer / "validation")
    spec = ctx.spec
    tokenizer = ctx.paths.candidate(cfg.source) / TOKENIZER
    if tokenizer.is_file():
        spec = dataclasses.replace(spec, tokenizer=dataclasses.replace(spec.tokenizer or TokenizerConfig(),
                                                                       pretrained=str(tokenizer)))
    with tempfile.TemporaryDirectory() as tmp:
        write_splits(raw, info, spec, ctx.params.seed, Path(tmp), split=cfg.split)
        return PreparedData.load(Path(tmp))


def _train_mode(ctx: Context, task, mode: str, source, source_meta: dict, train: dict, data: PreparedData) -> dict:
    import mlflow

    cfg, device, examples = ctx.spec.transfer, resolve_device(ctx.params.device), len(train["label"])
    candidate = CandidateSpec(mode, source_meta["family"], source_meta["params"], cfg.train)
    seed_everything(ctx.params.seed, ctx.params.deterministic)  # every mode starts from the same draws
    model = build_trained(model_meta(mode, candidate.model, candidate.params, task, data.stats))
    net, callbacks = family_net(model), []
    if mode != "scratch":
        transplant_features(source, net)
    if mode == "feature_extraction":
        freeze(net.features)
    if mode == "fine_tuning":
        callbacks.append(UnfreezeFeatures(net.features, cfg.unfreeze_after))
    with mlflow.start_run(run_name=f"{mode}/{examples}", nested=True) as run:
        mlflow.log_params({"mode": mode, "examples": examples})
        trainer, _ = build_trainer(candidate, task, data, device, ctx.params.seed, ctx.params.deterministic,
                                   callbacks=[EpochLogger(run.info.run_id), *callbacks],
                                   name=f"transfer/{mode}/{examples}", model=model,
                                   backbone_lr_scale=cfg.backbone_lr_scale if mode == "fine_tuning" else 1.0)
        trainer.fit(train, data.splits["val"])
        scores = score_model(trainer.model, task, data.splits["test"], data.stats, device)
        log_metrics(run.info.run_id, scores.flat(per_class=False))
    flat = scores.flat(per_class=False)
    return {"mode": mode, "examples": examples, "test_accuracy": flat["test_accuracy"],
            "test_f1_macro": flat["test_f1_macro"]}
