"""The task owns the step; the trainer owns the loop.

A batch is a dict of named tensors with a leading example dimension (`image`, `label`;
`tokens`, `lengths`; `history`, `target`). A task says which keys feed the model, what the
loss is, which scores to sum and over how many units (examples, tokens, time steps), how a
training batch is transformed (augmentation, noise, masking) and how an epoch is cut into
batches. The default step is one forward, one loss and one optimizer (`model`); a task with
several players (a GAN) declares more names in `optimizers` and steps each in its own
`training_step`. The trainer keeps epochs, early stopping, checkpoints, callbacks, device
and autocast, and never looks inside a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar, Protocol

import torch
from torch import Generator, Tensor, nn

from mastery.config import TaskConfig
from mastery.tasks.metrics import MetricTable

Batch = dict[str, Tensor]
Sums = dict[str, Tensor]  # summed over the batch's units; `loss` among them
Transform = Callable[[Batch, Generator], Batch]


class Stepper(Protocol):
    """What the trainer gives `training_step`: backward, clip and step one named optimizer."""

    def __call__(self, optimizer: str, loss: Tensor) -> None: ...


def rows(split: Batch) -> int:
    return len(next(iter(split.values())))


def left_by_forward(model: nn.Module, attribute: str) -> list[Tensor]:
    """What the model's modules left in `attribute` on their last training forward (a sparse
    code's penalty, IDEC's reconstruction): side outputs a task adds to its loss, so the model
    stays one tensor in, one out, and exports like any other."""
    return [value for module in model.modules() if (value := getattr(module, attribute, None)) is not None]


def take(split: Batch, index: Tensor | slice) -> Batch:
    """The examples at `index` of every named tensor: one index slices the whole batch."""
    return {key: value[index] for key, value in split.items()}


class Task:
    name: ClassVar[str]
    metrics: ClassVar[MetricTable]
    inputs: tuple[str, ...]  # batch keys the model takes, in order: also the exported inputs
    output: ClassVar[str] = "output"  # the exported output's name
    optimizers: ClassVar[tuple[str, ...]] = ("model",)

    def __init__(self, modality: str, config: TaskConfig | None = None):
        self.modality = modality
        self.config = config or TaskConfig(self.name)  # the spec's settings of the task

    def contract(self, stats: dict):
        """What a server needs to serve this task's model (`mastery.export.contract`): the
        modality's inputs, the task's outputs, the classes, the profile to log, the tokenizer
        where the data has one."""
        from mastery.export.contract import Contract
        from mastery.modalities import get_modality

        return Contract(task=self.name, inputs=get_modality(self.modality).input_specs(stats),
                        outputs=self.output_specs(stats), classes=tuple(stats["classes"]) or None,
                        profile=self.modality, tokenizer=stats.get("tokenizer"), max_chars=stats.get("max_chars"))

    def output_specs(self, stats: dict) -> tuple:
        """The exported outputs, as `mastery.export.contract.TensorSpec`s."""
        raise NotImplementedError

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        """Each input's dimensions that vary between calls: the batch, by default."""
        return {key: {0: "batch"} for key in self.inputs}

    def model_inputs(self, batch: Batch) -> tuple[Tensor, ...]:
        """What the model is called with, in order."""
        return tuple(batch[key] for key in self.inputs)

    def example(self, split: Batch, count: int = 1) -> tuple[Tensor, ...]:
        """The model's inputs for the first `count` examples of a split, as the task feeds them
        (a generator's noise, a denoiser's noisy images): an export's example, a latency probe."""
        return self.model_inputs(next(iter(self.eval_batches(take(split, slice(0, count)), count))))

    def forward(self, model: nn.Module, batch: Batch) -> Tensor:
        return model(*self.model_inputs(batch))

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """The mean loss the optimizer minimises."""
        raise NotImplementedError

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        """Scores summed over the batch's units; the trainer divides by their count."""
        return {}

    def summarise(self, totals: Sums, units: int) -> dict[str, float]:
        """A split's scores from its summed ones: means by default. A score that is no mean over
        units (a clustering's matched accuracy) sums a statistic (a contingency table) and is
        computed from it here, once the batches (and ranks) are added up."""
        return {name: value.item() / units for name, value in totals.items()}

    def count(self, batch: Batch) -> int:
        """The units the loss and scores are averaged over: examples by default."""
        return rows(batch)

    def training_step(self, model: nn.Module, batch: Batch, step: Stepper) -> tuple[Sums, int]:
        outputs = self.forward(model, batch)
        loss = self.loss(outputs, batch)
        step("model", loss)
        return self._sums(loss, outputs.detach(), batch)

    def eval_step(self, model: nn.Module, batch: Batch) -> tuple[Sums, int]:
        outputs = self.forward(model, batch)
        return self._sums(self.loss(outputs.float(), batch), outputs, batch)

    def _sums(self, loss: Tensor, outputs: Tensor, batch: Batch) -> tuple[Sums, int]:
        units = self.count(batch)
        return {"loss": loss.detach().float() * units, **self.score_sums(outputs, batch)}, units

    def split_scores(self, model: nn.Module, split: Batch) -> dict[str, float]:
        """Scores of a whole split that are no sum over its batches (a Fréchet distance between
        two sets of features): the trainer adds them to each evaluation."""
        return {}

    def model_dims(self, meta: dict) -> dict:
        """What the task adds to a family's builder arguments (the number of classes, a horizon)."""
        return {}

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        """Test scores of a model's outputs on a split: an object with `flat(prefix)` (scalars
        for MLflow, DVC and the gate), `per_example(metric)` (for paired tests) and `report()`."""
        raise NotImplementedError

    def scores(self, model: nn.Module, split: Batch, meta: dict, device: torch.device):
        """`score` of the model's outputs on a split; a task whose test scores need the model
        itself, not only its outputs (a VAE's importance-sampled likelihood), overrides this."""
        from mastery.training.inference import predict

        return self.score(predict(model, self, split, device), split, meta)

    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """PNG files a reviewer reads beside the learning curves."""
        return []

    def epoch_texts(self, model: nn.Module, stats: dict) -> dict[str, str]:
        """Texts a reviewer reads after each training epoch, by name (a language model's samples)."""
        return {}

    def epoch_figures(self, model: nn.Module, val: Batch, stats: dict, directory: Path) -> list[Path]:
        """PNG files a reviewer looks at after each training epoch, in `directory`, each named by
        its stem (an autoencoder's reconstructions of fixed validation images, a GAN's samples
        from fixed noise): the same picture from a better model each epoch."""
        return []

    def train_transform(self, config) -> Transform | None:
        """What changes a training batch each step (augmentation, noise, masking); None: nothing."""
        return None

    def batches_per_epoch(self, split: Batch, batch_size: int) -> int:
        return math.ceil(rows(split) / batch_size)

    def train_batches(self, split: Batch, batch_size: int, batches: int, generator: Generator) -> Iterator[Batch]:
        """`batches` batches of a fresh random order of the split (on its device)."""
        device = next(iter(split.values())).device
        order = torch.randperm(rows(split), generator=generator).to(device)
        for b in range(batches):
            yield take(split, order[b * batch_size : (b + 1) * batch_size])

    def eval_batches(self, split: Batch, batch_size: int) -> Iterator[Batch]:
        for start in range(0, rows(split), batch_size):
            yield take(split, slice(start, start + batch_size))
