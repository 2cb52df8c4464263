"""One generic trainer (textbook ch. 3-4) for every model family and task.

Data stays as tensors on the device and is batched by index, validation runs in large
batches under `inference_mode`, and scores are reduced on the device with one host sync per
epoch: the loop costs little more than a bare PyTorch loop. Everything a run needs to
continue after a kill (weights, optimizer, schedule, RNG streams, history, early-stopping
state) is checkpointed every epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from mastery.config import TrainConfig
from mastery.data.augment import Augmenter
from mastery.errors import MasteryError
from mastery.tasks import Task
from mastery.training import checkpoint
from mastery.training.callbacks import Callback
from mastery.training.device import CPU, autocast
from mastery.training.init import initialize
from mastery.training.optim import LRSchedule, build_optimizer

Split = tuple[Tensor, Tensor]


class TrainingDiverged(MasteryError):
    """The loss became NaN or infinite; the message names the epoch."""


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        task: Task,
        config: TrainConfig,
        device: torch.device = CPU,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: Path | None = None,
        fingerprint: str = "",
        seed: int = 0,
        name: str = "model",
        backbone_lr_scale: float = 1.0,  # the lr of `features` relative to the rest (fine-tuning)
    ):
        self.name = name  # names the run in progress bars and errors
        self.config = config
        self.device = device
        self.task = task
        self.callbacks = list(callbacks)
        self.checkpoint_dir = checkpoint_dir
        self.fingerprint = fingerprint  # a checkpoint resumes only the run it was made by
        initialize(model, config.init)
        self.model = model.to(device)
        self.optimizer = build_optimizer(self.model, config.optimizer, backbone_lr_scale)
        self.augment = Augmenter(config.augmentation)
        self.shuffle_rng = torch.Generator().manual_seed(seed)
        self.augment_rng = torch.Generator(device).manual_seed(seed + 1)
        early = config.early_stopping
        self.monitor, self.mode = (early.monitor, early.mode) if early else ("val_loss", "min")
        self.history: list[dict] = []
        self.best_value = math.inf if self.mode == "min" else -math.inf
        self.best_state: dict[str, Tensor] = {}
        self.bad_epochs = 0
        self.stop = False

    def fit(self, train: Split, val: Split, resume: bool = True) -> list[dict]:
        """Train for `config.epochs` (or until early stopping); ends holding the best weights."""
        x, y = (t.to(self.device) for t in train)
        batches = math.ceil(len(x) / self.config.batch_size)
        batches = min(batches, self.config.max_batches or batches)
        self.schedule = LRSchedule.build(self.optimizer, self.config.scheduler, self.config.epochs, batches)
        start = self._restore() + 1 if resume else 1
        for callback in self.callbacks:
            callback.on_fit_start(self, self.config.epochs, batches)
        for epoch in range(start, self.config.epochs + 1):
            if self.stop:
                break
            self._run_epoch(epoch, x, y, batches, val)
        if self.best_state:
            self.model.load_state_dict(self.best_state)
        for callback in self.callbacks:
            callback.on_fit_end(self)
        return self.history

    def _run_epoch(self, epoch: int, x: Tensor, y: Tensor, batches: int, val: Split) -> None:
        started = time.perf_counter()
        train_scores = self._train_epoch(x, y, batches)
        if not math.isfinite(train_scores["loss"]):
            raise TrainingDiverged(
                f"{self.name}: training loss became {train_scores['loss']} in epoch {epoch} "
                f"(lr {self.schedule.current_lr:.3g}); lower the learning rate or clip gradients"
            )
        record = {"epoch": epoch, **_prefixed("train_", train_scores)}
        record |= _prefixed("val_", self.evaluate(val))
        record |= {"lr": self.schedule.current_lr, "epoch_seconds": time.perf_counter() - started}
        self.schedule.after_epoch(record.get("val_loss"))
        self.history.append(record)
        self._track_best(record)
        self._save_checkpoint(epoch)  # before callbacks: a prune or kill there keeps this epoch
        for callback in self.callbacks:
            callback.on_epoch_end(self, record)

    def _train_epoch(self, x: Tensor, y: Tensor, batches: int) -> dict[str, float]:
        self.model.train()
        size = self.config.batch_size
        order = torch.randperm(len(x), generator=self.shuffle_rng).to(self.device)
        sums: dict[str, Tensor] = {"loss": torch.zeros((), device=self.device)}
        seen = 0
        for b in range(batches):
            index = order[b * size : (b + 1) * size]
            xb, yb = x[index], y[index]
            if self.augment.enabled:
                xb = self.augment(xb, self.augment_rng)
            with autocast(self.device):
                outputs = self.model(xb)
                loss = self.task.loss(outputs, yb)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            self.schedule.after_batch()
            _accumulate(sums, loss.detach() * len(yb), self.task.score_sums(outputs.detach(), yb))
            seen += len(yb)
            for callback in self.callbacks:
                callback.on_batch_end(self)
        return {k: v.item() / seen for k, v in sums.items()}

    def best_record(self) -> dict:
        """The history record of the epoch whose weights the trainer keeps."""
        records = [r for r in self.history if r[self.monitor] == self.best_value]
        return records[0] if records else {}

    @torch.inference_mode()
    def evaluate(self, data: Split) -> dict[str, float]:
        """Mean loss and scores over a whole split, in large batches."""
        self.model.eval()
        sums: dict[str, Tensor] = {"loss": torch.zeros((), device=self.device)}
        x, y = data
        for start in range(0, len(x), self.config.eval_batch_size):
            xb = x[start : start + self.config.eval_batch_size].to(self.device)
            yb = y[start : start + self.config.eval_batch_size].to(self.device)
            with autocast(self.device):
                outputs = self.model(xb)
            loss = self.task.loss(outputs.float(), yb)
            _accumulate(sums, loss * len(yb), self.task.score_sums(outputs, yb))
        return {k: v.item() / len(x) for k, v in sums.items()}

    def _track_best(self, record: dict) -> None:
        value = record[self.monitor]
        early = self.config.early_stopping
        delta = early.min_delta if early else 0.0
        improved = value < self.best_value - delta if self.mode == "min" else value > self.best_value + delta
        if improved:
            self.best_value, self.bad_epochs = value, 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.bad_epochs += 1
            self.stop = bool(early) and self.bad_epochs >= early.patience

    def _save_checkpoint(self, epoch: int) -> None:
        if self.checkpoint_dir is None:
            return
        optimizer_tensors, optimizer_rest = checkpoint.flatten_optimizer_state(self.optimizer.state_dict())
        groups = {
            "model": self.model.state_dict(),
            "best": self.best_state,
            "optimizer": optimizer_tensors,
            "rng": {
                "torch": torch.get_rng_state(),
                "shuffle": self.shuffle_rng.get_state(),
                "augment": self.augment_rng.get_state().cpu(),
            },
        }
        state = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "history": self.history,
            "optimizer": optimizer_rest,
            "schedule": self.schedule.state_dict(),
            "best_value": self.best_value,
            "bad_epochs": self.bad_epochs,
            "stop": self.stop,
        }
        checkpoint.save_checkpoint(self.checkpoint_dir, f"epoch-{epoch:04d}", groups, state)

    def _restore(self) -> int:
        """Load the last checkpoint of this same run; return the epoch it completed (0 if none)."""
        found = checkpoint.load_checkpoint(self.checkpoint_dir) if self.checkpoint_dir else None
        if found is None or found[1].get("fingerprint") != self.fingerprint:
            return 0
        groups, state = found
        self.model.load_state_dict(groups["model"])
        self.optimizer.load_state_dict(
            checkpoint.unflatten_optimizer_state(groups.get("optimizer", {}), state["optimizer"])
        )
        self.schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(groups["rng"]["torch"])
        self.shuffle_rng.set_state(groups["rng"]["shuffle"])
        self.augment_rng.set_state(groups["rng"]["augment"])
        self.history = state["history"]
        self.best_state = {k: v.to(self.device) for k, v in groups.get("best", {}).items()}
        self.best_value, self.bad_epochs, self.stop = state["best_value"], state["bad_epochs"], state["stop"]
        return state["epoch"]


def _accumulate(sums: dict[str, Tensor], loss_sum: Tensor, scores: dict[str, Tensor]) -> None:
    sums["loss"] += loss_sum.float()
    for name, value in scores.items():
        sums[name] = sums[name] + value if name in sums else value


def _prefixed(prefix: str, scores: dict[str, float]) -> dict[str, float]:
    return {prefix + name: value for name, value in scores.items()}
