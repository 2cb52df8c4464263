"""The trainer's hooks, in a module of their own so that what implements them (MLflow logging,
progress bars, Optuna pruning) can be imported without torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mastery.training.trainer import Trainer


class Callback:
    """Hooks for doors and searches (progress bars, MLflow logging, Optuna pruning)."""

    def on_fit_start(self, trainer: Trainer, epochs: int, batches_per_epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer) -> None: ...

    def on_epoch_end(self, trainer: Trainer, record: dict) -> None: ...

    def on_fit_end(self, trainer: Trainer) -> None: ...
