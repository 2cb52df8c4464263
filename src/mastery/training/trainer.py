"""One generic trainer (textbook ch. 3-4) for every model family and task.

The task owns the step (what feeds the model, the loss, the scores, batch transforms); the
trainer owns the loop: parts fitted in closed form first (epoch 0), then epochs, named optimizers and their schedules, gradient clipping,
early stopping with best-weight restore, checkpoints and resume, callbacks, device and
autocast. Data stays as named tensors on the device and is batched by index, validation
runs in large batches under `inference_mode`, and scores are reduced on the device with one
host sync per epoch, so the loop costs little more than a bare PyTorch loop. Everything a run
needs to continue after a kill (weights, every optimizer and schedule, RNG streams, history,
early-stopping state) is checkpointed every epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from mastery.config import TrainConfig
from mastery.errors import MasteryError
from mastery.models.standardize import closed_form_parts
from mastery.tasks.base import Batch, Sums, Task
from mastery.training import checkpoint, distributed
from mastery.training.callbacks import Callback
from mastery.training.device import CPU, autocast
from mastery.training.init import initialize
from mastery.training.optim import LRSchedule, build_optimizer

CHECKPOINT_FORMAT = 2  # named optimizers and schedules; a checkpoint of another format is not resumed


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
        self.world = distributed.current_world()  # one process, or this rank of a data-parallel run
        self.stepped = distributed.wrap(self.model, self.world, device)  # what the step calls
        self.optimizers = {name: build_optimizer(self._players(name), config.optimizer, backbone_lr_scale)
                           for name in task.optimizers}
        self.transform = task.train_transform(config)
        self.shuffle_rng = torch.Generator().manual_seed(seed)
        self.augment_rng = torch.Generator(device).manual_seed(seed + 1)
        self.monitor, self.mode = self._monitor()
        self.history: list[dict] = []
        self.best_value = math.inf if self.mode == "minimize" else -math.inf
        self.best_state: dict[str, Tensor] = {}
        self.bad_epochs = 0
        self.stop = False

    def _players(self, optimizer: str) -> nn.Module:
        """The part of the model an optimizer moves: all of it, or the submodule of its name."""
        return self.model if optimizer == "model" else getattr(self.model, optimizer)

    def _monitor(self) -> tuple[str, str]:
        """What early stopping and the kept weights follow: the spec's monitor, or the task's
        primary validation metric; its direction is the metric table's unless the spec says."""
        early = self.config.early_stopping
        monitor = early.monitor if early and early.monitor else f"val_{self.task.metrics.primary.name}"
        mode = {"max": "maximize", "min": "minimize"}.get(early.mode if early else None)
        return monitor, mode or self.task.metrics.direction(monitor)

    def fit(self, train: Batch, val: Batch, resume: bool = True) -> list[dict]:
        """Train for `config.epochs` (or until early stopping); ends holding the best weights."""
        train = {key: value.to(self.device) for key, value in train.items()}
        batches = self.task.batches_per_epoch(train, self.config.batch_size)
        batches = min(batches, self.config.max_batches or batches)
        self.schedules = {name: LRSchedule.build(optimizer, self.config.scheduler, self.config.epochs, batches)
                          for name, optimizer in self.optimizers.items()}
        start = self._restore() + 1 if resume else 1
        for callback in self.callbacks:
            callback.on_fit_start(self, self.config.epochs, batches)
        if not self.history:
            self._fit_closed_form(train, val)
        for epoch in range(start, self.config.epochs + 1):
            if self.stop:
                break
            self._run_epoch(epoch, train, batches, val)
        if self.best_state:
            self.model.load_state_dict(self.best_state)
        for callback in self.callbacks:
            callback.on_fit_end(self)
        return self.history

    @property
    def lr(self) -> float:
        """The learning rate of the first optimizer's next step."""
        return next(iter(self.schedules.values())).current_lr

    def _fit_closed_form(self, train: Batch, val: Batch) -> None:
        """Fit the parts of the model that are fitted, not trained (a module's
        `fit_closed_form(split)`: a scikit-learn estimator, counts), on the whole training
        split, before any gradient step. Their scores are epoch 0, so a model with nothing
        left to learn by gradient (`epochs: 0`) is a baseline in the same harness."""
        fitted = closed_form_parts(self.model)
        if not fitted:
            return
        started = time.perf_counter()
        for module in fitted:
            module.fit_closed_form(train)
        self._keep(0, self._record(0, self.evaluate(train), val, started))

    def _run_epoch(self, epoch: int, train: Batch, batches: int, val: Batch) -> None:
        started = time.perf_counter()
        train_scores = self._train_epoch(train, batches)
        if not math.isfinite(train_scores["loss"]):
            raise TrainingDiverged(
                f"{self.name}: training loss became {train_scores['loss']} in epoch {epoch} "
                f"(lr {self.lr:.3g}); lower the learning rate or clip gradients"
            )
        record = self._record(epoch, train_scores, val, started)
        for schedule in self.schedules.values():
            schedule.after_epoch(record.get(self.monitor) if self.mode == "minimize" else -record[self.monitor])
        self._keep(epoch, record)

    def _record(self, epoch: int, train_scores: dict[str, float], val: Batch, started: float) -> dict:
        record = {"epoch": epoch, **_prefixed("train_", train_scores)}
        evaluated = time.perf_counter()
        record |= _prefixed("val_", self.evaluate(val))
        done = time.perf_counter()
        return record | {"lr": self.lr, "epoch_seconds": done - started, "eval_seconds": done - evaluated}

    def _keep(self, epoch: int, record: dict) -> None:
        self.history.append(record)
        self._track_best(record)
        self._save_checkpoint(epoch)  # before callbacks: a prune or kill there keeps this epoch
        for callback in self.callbacks:
            callback.on_epoch_end(self, record)

    def _train_epoch(self, train: Batch, batches: int) -> dict[str, float]:
        self.model.train()
        totals: Sums = {}
        units = 0
        for batch in self.task.train_batches(train, self.config.batch_size, batches, self.shuffle_rng):
            batch = distributed.share(batch, self.world)
            if self.transform is not None:
                batch = self.transform(batch, self.augment_rng)
            with autocast(self.device):
                sums, count = self.task.training_step(self.stepped, batch, self._step)
            _accumulate(totals, sums)
            units += count
            for callback in self.callbacks:
                callback.on_batch_end(self)
        totals, units = distributed.reduce(totals, units, self.world, self.device)
        return self.task.summarise(totals, units)

    def _step(self, optimizer: str, loss: Tensor) -> None:
        """Backward (outside autocast), clip and step one named optimizer, then its schedule."""
        chosen = self.optimizers[optimizer]
        chosen.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self._players(optimizer).parameters(), self.config.grad_clip)
        chosen.step()
        self.schedules[optimizer].after_batch()

    def adopt(self, history: list[dict], weights: dict[str, Tensor]) -> None:
        """Take over a fit made elsewhere (the ranks of a data-parallel run): its history and
        the weights it kept."""
        self.history = history
        self.model.load_state_dict(weights)
        values = [record[self.monitor] for record in history]
        self.best_value = max(values) if self.mode == "maximize" else min(values)

    def best_record(self) -> dict:
        """The history record of the epoch whose weights the trainer keeps."""
        records = [r for r in self.history if r[self.monitor] == self.best_value]
        return records[0] if records else {}

    @torch.inference_mode()
    def evaluate(self, data: Batch) -> dict[str, float]:
        """Mean loss and scores over a whole split, in large batches, and the task's whole-split scores."""
        self.model.eval()
        totals: Sums = {}
        units = 0
        for batch in self.task.eval_batches(data, self.config.eval_batch_size):
            batch = {key: value.to(self.device) for key, value in batch.items()}
            with autocast(self.device):
                sums, count = self.task.eval_step(self.model, batch)
            _accumulate(totals, sums)
            units += count
        return self.task.summarise(totals, units) | self.task.split_scores(self.model, data)

    def _track_best(self, record: dict) -> None:
        value = record[self.monitor]
        early = self.config.early_stopping
        delta = early.min_delta if early else 0.0
        improved = value < self.best_value - delta if self.mode == "minimize" else value > self.best_value + delta
        if improved:
            self.best_value, self.bad_epochs = value, 0
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        else:
            self.bad_epochs += 1
            self.stop = bool(early) and self.bad_epochs >= early.patience

    def _save_checkpoint(self, epoch: int) -> None:
        if self.checkpoint_dir is None or not self.world.is_main:
            distributed.barrier(self.world)  # the others wait for rank 0's checkpoint
            return
        groups = {"model": self.model.state_dict(), "best": self.best_state, "rng": {
            "torch": torch.get_rng_state(),
            "shuffle": self.shuffle_rng.get_state(),
            "augment": self.augment_rng.get_state().cpu(),
        }}
        optimizers = {}
        for name, optimizer in self.optimizers.items():
            groups[f"optimizer.{name}"], optimizers[name] = checkpoint.flatten_optimizer_state(optimizer.state_dict())
        state = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "history": self.history,
            "optimizers": optimizers,
            "schedules": {name: schedule.state_dict() for name, schedule in self.schedules.items()},
            "best_value": self.best_value,
            "bad_epochs": self.bad_epochs,
            "stop": self.stop,
        }
        checkpoint.save_checkpoint(self.checkpoint_dir, f"epoch-{epoch:04d}", groups, state)
        distributed.barrier(self.world)

    def _restore(self) -> int:
        """Load the last checkpoint of this same run; return the epoch it completed (0 if none)."""
        found = checkpoint.load_checkpoint(self.checkpoint_dir) if self.checkpoint_dir else None
        if found is None or (found[1].get("format"), found[1].get("fingerprint")) != (CHECKPOINT_FORMAT, self.fingerprint):
            return 0
        groups, state = found
        self.model.load_state_dict(groups["model"])
        for name, optimizer in self.optimizers.items():
            tensors = groups.get(f"optimizer.{name}", {})
            optimizer.load_state_dict(checkpoint.unflatten_optimizer_state(tensors, state["optimizers"][name]))
            self.schedules[name].load_state_dict(state["schedules"][name])
        torch.set_rng_state(groups["rng"]["torch"])
        self.shuffle_rng.set_state(groups["rng"]["shuffle"])
        self.augment_rng.set_state(groups["rng"]["augment"])
        self.history = state["history"]
        self.best_state = {k: v.to(self.device) for k, v in groups.get("best", {}).items()}
        self.best_value, self.bad_epochs, self.stop = state["best_value"], state["bad_epochs"], state["stop"]
        return state["epoch"]


def _accumulate(totals: Sums, sums: Sums) -> None:
    for name, value in sums.items():
        totals[name] = totals[name] + value if name in totals else value


def _prefixed(prefix: str, scores: dict[str, float]) -> dict[str, float]:
    return {prefix + name: value for name, value in scores.items()}
