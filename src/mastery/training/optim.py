"""Optimizers and learning-rate schedules built from typed config (textbook ch. 3)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

from mastery.config import OptimizerConfig, SchedulerConfig


def _param_groups(model: nn.Module, cfg: OptimizerConfig, backbone_lr_scale: float) -> list[dict[str, Any]]:
    """Split parameters so only weight matrices and kernels are decayed, and the backbone
    (the model's `features`) learns at `lr x backbone_lr_scale`.

    Biases and normalisation scales/shifts (the 1-D parameters) do not cause overfitting
    through their size; shrinking them only fights the layers that rescale activations.
    A pretrained backbone fine-tuned at the head's rate forgets what it knew (discriminative
    learning rates, Howard & Ruder 2018). Frozen parameters are included: they get no gradient,
    hence no update, until they are unfrozen.
    """
    backbone = {id(p) for p in _features(model).parameters()} if backbone_lr_scale != 1 else set()
    groups = []
    for in_backbone, scale in ((True, backbone_lr_scale), (False, 1.0)):
        params = [p for p in model.parameters() if (id(p) in backbone) == in_backbone]
        groups += [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": cfg.weight_decay, "lr": cfg.lr * scale},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "lr": cfg.lr * scale},
        ]
    return [group for group in groups if group["params"]]


def _features(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(getattr(module, "features", None), nn.Module):
            return module.features
    raise ValueError(f"{type(model).__name__} has no `features` to give a learning rate of its own")


def build_optimizer(model: nn.Module, cfg: OptimizerConfig, backbone_lr_scale: float = 1.0) -> Optimizer:
    """The optimizer `cfg.name` over `model`, with weight decay on weights only.

    `weight_decay` is an L2 penalty added to the gradient, except for adamw, where it is
    decoupled from the adaptive step. For rmsprop, `cfg.momentum` is the decay rate of the
    running average of squared gradients (the textbook's rho), not heavy-ball momentum.
    """
    groups = _param_groups(model, cfg, backbone_lr_scale)
    match cfg.name:
        case "sgd":
            return torch.optim.SGD(groups, lr=cfg.lr)
        case "momentum":
            return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
        case "nesterov":
            return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
        case "rmsprop":
            return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=cfg.momentum)
        case "adagrad":
            return torch.optim.Adagrad(groups, lr=cfg.lr)
        case "adam":
            return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        case "adamw":
            return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    raise ValueError(f"unknown optimizer '{cfg.name}'")


def _warmup_cosine(cfg: SchedulerConfig, top: float, total: int):
    """The factor of each group's lr at step `step` (0-based), as nanoGPT's `get_lr`."""
    floor = cfg.min_lr / top

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / (cfg.warmup_steps + 1)
        progress = min((step - cfg.warmup_steps) / max(total - cfg.warmup_steps, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class LRSchedule:
    """Any of the configured schedules behind two hooks, so the trainer never branches.

    The trainer calls `after_batch()` after every optimizer step and `after_epoch(value)`
    after every epoch; each schedule acts on the hook that matches its cadence.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        scheduler: LRScheduler | ReduceLROnPlateau | None = None,
        per_batch: bool = False,
    ) -> None:
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.per_batch = per_batch

    @classmethod
    def build(
        cls, optimizer: Optimizer, cfg: SchedulerConfig, epochs: int, steps_per_epoch: int
    ) -> LRSchedule:
        """The schedule `cfg.name`; `steps_per_epoch` must match the batches actually run.

        plateau watches a value where lower is better (a validation loss). cosine and
        plateau never go below `cfg.min_lr`. onecycle rises for the first half of training
        and anneals over the second (Smith's symmetric cycle); it leaves momentum alone.
        warmup_cosine (GPT's, per step) rises linearly over `cfg.warmup_steps`, then follows a
        cosine down to `cfg.min_lr` at the last step.
        """
        match cfg.name:
            case "none":
                return cls(optimizer)
            case "step":
                return cls(optimizer, StepLR(optimizer, cfg.step_size, cfg.gamma))
            case "cosine":
                return cls(optimizer, CosineAnnealingLR(optimizer, epochs, cfg.min_lr))
            case "plateau":
                plateau = ReduceLROnPlateau(
                    optimizer, factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr
                )
                return cls(optimizer, plateau)
            case "onecycle":
                top = max(group["lr"] for group in optimizer.param_groups)
                peak = (cfg.max_lr or top) / top  # each group peaks in proportion to its lr
                cycle = OneCycleLR(
                    optimizer,
                    max_lr=[group["lr"] * peak for group in optimizer.param_groups],
                    total_steps=epochs * steps_per_epoch,
                    pct_start=0.5,
                    cycle_momentum=False,
                )
                return cls(optimizer, cycle, per_batch=True)
            case "warmup_cosine":
                factor = _warmup_cosine(cfg, max(group["lr"] for group in optimizer.param_groups), epochs * steps_per_epoch)
                return cls(optimizer, LambdaLR(optimizer, factor), per_batch=True)
        raise ValueError(f"unknown scheduler '{cfg.name}'")

    def after_batch(self) -> None:
        """Advance a per-batch schedule (onecycle) by one optimizer step."""
        if self.per_batch:
            self.scheduler.step()

    def after_epoch(self, monitored_value: float | None = None) -> None:
        """Advance a per-epoch schedule; plateau needs the monitored validation value."""
        if isinstance(self.scheduler, ReduceLROnPlateau):
            if monitored_value is None:
                raise ValueError("the plateau schedule needs a monitored value each epoch")
            self.scheduler.step(monitored_value)
        elif self.scheduler is not None and not self.per_batch:
            self.scheduler.step()

    @property
    def current_lr(self) -> float:
        """The learning rate the next optimizer step will use."""
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe schedule progress for a checkpoint; the LR itself is optimizer state."""
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from `state_dict()`; load the optimizer's state as well."""
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)
