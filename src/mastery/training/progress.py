"""A rich progress bar over epochs and batches, for the interactive doors."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mastery.training.callbacks import Callback


class RichProgress(Callback):
    """One bar per fit, named after the trainer's run."""

    def on_fit_start(self, trainer, epochs: int, batches_per_epoch: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        done = len(trainer.history)
        self.task = self.progress.add_task(
            trainer.name, total=epochs * batches_per_epoch, completed=done * batches_per_epoch, status=""
        )
        self.progress.start()

    def on_batch_end(self, trainer) -> None:
        self.progress.advance(self.task)

    def on_epoch_end(self, trainer, record: dict) -> None:
        status = f"epoch {record['epoch']} val_loss {record['val_loss']:.4f}"
        if "val_accuracy" in record:
            status += f" val_acc {record['val_accuracy']:.4f}"
        self.progress.update(self.task, status=status)

    def on_fit_end(self, trainer) -> None:
        self.progress.stop()
