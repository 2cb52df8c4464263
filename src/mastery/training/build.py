"""One way from a candidate to a trainer, for train, the searches and transfer alike."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from mastery.config import CandidateSpec
from mastery.data.prepare import PreparedData
from mastery.models.artifact import build_trained, model_meta
from mastery.tasks.base import Task
from mastery.training.callbacks import Callback
from mastery.training.device import seed_everything
from mastery.training.trainer import Trainer
from mastery.training.transfer import warm_start


def build_trainer(
    candidate: CandidateSpec,
    task: Task,
    data: PreparedData,
    device: torch.device,
    seed: int,
    deterministic: bool = False,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: Path | None = None,
    fingerprint: str = "",
    name: str | None = None,
    model: nn.Module | None = None,
    backbone_lr_scale: float = 1.0,
    start_from: nn.Module | None = None,
) -> tuple[Trainer, dict]:
    """(trainer, meta): the candidate's model for this data, seeded, in a trainer of its recipe.

    `meta` is what rebuilds the model later (`model.json`). `model` replaces the freshly built
    one (transfer hands in a model with a transplanted backbone). `start_from`, a trained model,
    gives the new one its weights of the same names (`warm_start`), after any re-initialisation.
    """
    seed_everything(seed, deterministic)
    meta = model_meta(candidate.name, candidate.model, candidate.params, task, data.stats)
    trainer = Trainer(
        model if model is not None else build_trained(meta),
        task,
        candidate.train,
        device=device,
        callbacks=callbacks,
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        seed=seed,
        name=name or candidate.name,
        backbone_lr_scale=backbone_lr_scale,
    )
    if start_from is not None:
        warm_start(trainer.model, start_from)
    return trainer, meta
