"""Generative adversarial networks (textbook ch. 8; Goodfellow et al., 2014), unconditional or
conditional on a class (`task.conditional`): a generator and a discriminator, one optimizer
each, in alternating steps.

Each training batch gets fresh noise from the trainer's generator (`train_transform`), so a
resumed run draws what the uninterrupted one would. A step first moves the discriminator on
the real images (target 1) and the generator's images, detached (target 0), then the
generator on the non-saturating loss -log D(G(z)) (it ascends what the discriminator calls
real); a conditional generator is asked for the batch's own classes. Per epoch the run shows
both players' losses, D(x) and D(G(z)) (the discriminator's mean probability of real on real
and on generated images: D(x) near 1 with D(G(z)) near 0 is a discriminator that has won).
`loss`, their sum, is only a divergence check: a GAN's losses do not say how good its samples
are. That is the judge's (`task.judge`, `mastery.evaluation.frechet`): every evaluation draws
one sample per image of the split from seeded noise (and, conditional, that image's class),
and scores the Fréchet distance in the judge's features, the spread of the classes the judge
reads (mode collapse) and, conditional, the share judged to be the class asked for. Those are
what early stopping keeps and the gate compares; `mastery.evaluation.generative` says how.
One limit, for now: data-parallel training (`train.processes` > 1) wraps the model in DDP,
which passes no `generator` or `discriminator` through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn

from mastery.errors import MasteryError
from mastery.tasks.base import Batch, Stepper, Sums, Task, Transform, rows
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task

EVAL_SEED = 0  # the noise every evaluation and figure draws from


@register_task
class GAN(Task):
    name = "gan"
    output = "image"
    optimizers = ("generator", "discriminator")

    def __init__(self, modality: str, config=None):
        super().__init__(modality, config)
        conditional = self.config.conditional
        self.inputs = ("noise", "label") if conditional else ("noise",)
        judged = (Metric("judged_accuracy", "maximize", per_example=True),) if conditional else ()
        self.metrics = MetricTable((*judged, Metric("frechet", "minimize"), Metric("class_spread", "maximize"),
                                    Metric("judge_accuracy", "maximize")),
                                   headline=(*(m.name for m in judged), "frechet", "class_spread"))

    @cached_property
    def judge(self):
        from mastery.evaluation.frechet import Judge

        if not self.config.judge:
            raise MasteryError("a gan is judged by a trained classifier: set task.judge to its directory "
                               "(models/<pipeline>/<candidate>, e.g. models/mnist/lenet5 after `mastery train -p mnist`)")
        return Judge(self.config.judge)

    def model_dims(self, meta: dict) -> dict:
        """The noise size, and the classes a conditional generator draws; the judge must read them."""
        self.judge.check(meta["dims"]["in_shape"], meta["classes"])
        return {"latent": self.config.latent, "num_classes": len(meta["classes"]) if self.config.conditional else 0}

    def contract(self, stats: dict):
        """Noise (and a class) in, images out; no image comes in, so no image profile to log."""
        from mastery.export.contract import TensorSpec

        inputs = (TensorSpec("noise", "float32", ("batch", self.config.latent)),)
        if self.config.conditional:
            inputs += (TensorSpec("label", "int64", ("batch",), min=0, max=len(stats["classes"]) - 1),)
        return dataclasses.replace(super().contract(stats), inputs=inputs, profile=None)

    def output_specs(self, stats: dict) -> tuple:
        from mastery.tasks.reconstruction import unit_image_specs

        return unit_image_specs(self.output, stats)

    def noise(self, count: int, generator: Generator) -> Tensor:
        return torch.randn((count, self.config.latent), generator=generator, device=generator.device)

    def train_transform(self, config) -> Transform:
        """Fresh noise for each batch, from the trainer's generator."""
        return lambda batch, generator: {**batch, "noise": self.noise(rows(batch), generator)}

    def eval_batches(self, split: Batch, batch_size: int) -> Iterator[Batch]:
        """The split with one seeded noise vector per image: every evaluation draws the same samples."""
        noise = self.noise(rows(split), torch.Generator().manual_seed(EVAL_SEED))
        return super().eval_batches({**split, "noise": noise.to(split["image"].device)}, batch_size)

    def _label(self, batch: Batch) -> Tensor | None:
        return batch["label"] if self.config.conditional else None

    def training_step(self, model: nn.Module, batch: Batch, step: Stepper) -> tuple[Sums, int]:
        label = self._label(batch)
        fake = model.generator(batch["noise"], label)
        real_logit = model.discriminate(batch["image"], label)
        fake_logit = model.discriminator(fake.detach(), label)
        loss_d = _bce(real_logit, 1.0) + _bce(fake_logit, 0.0)
        step("discriminator", loss_d)
        loss_g = _bce(model.discriminator(fake, label), 1.0)
        step("generator", loss_g)
        return _player_sums(loss_d, loss_g, real_logit, fake_logit), rows(batch)

    def eval_step(self, model: nn.Module, batch: Batch) -> tuple[Sums, int]:
        label = self._label(batch)
        real_logit = model.discriminate(batch["image"], label).float()
        fake_logit = model.discriminate(self.forward(model, batch), label).float()
        loss_d = _bce(real_logit, 1.0) + _bce(fake_logit, 0.0)
        return _player_sums(loss_d, _bce(fake_logit, 1.0), real_logit, fake_logit), rows(batch)

    def split_scores(self, model: nn.Module, split: Batch) -> dict[str, float]:
        """The judge's scores of the samples drawn for the split, beside its real images."""
        from mastery.training.inference import predict

        device = next(model.parameters()).device
        return self.score(predict(model, self, split, device), split, {}).flat(prefix="", per_class=False)

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.frechet import frechet_distance
        from mastery.evaluation.generative import GenerativeScores

        fake_features, fake_probs = self.judge.read(outputs)
        real_features, real_probs = self.judge.read(split["image"])
        labels = split["label"].cpu().numpy()
        return GenerativeScores(frechet=frechet_distance(real_features, fake_features), judged=fake_probs.argmax(1),
                                real_judged=real_probs.argmax(1), real_labels=labels, classes=list(self.judge.classes),
                                requested=labels if self.config.conditional else None)

    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """A grid of samples from fixed noise (a row per class, conditional) and the judge's
        class histogram of the test samples beside the real images'."""
        from mastery.evaluation.generative import plot_class_histogram

        return [self._grid(model, meta["classes"], directory / "samples.png"),
                plot_class_histogram(scores, directory / "class_histogram.png")]

    def epoch_figures(self, model: nn.Module, val: Batch, stats: dict, directory: Path) -> list[Path]:
        """The same grid each epoch: the same noise drawn by a better (or collapsing) generator."""
        return [self._grid(model, stats["classes"], directory / "samples.png")]

    @torch.inference_mode()
    def _grid(self, model: nn.Module, classes: list[str], path: Path) -> Path:
        """Samples from fixed noise: conditional, a row per class over the same noise; else four rows."""
        from mastery.evaluation.generative import GRID_COLUMNS, plot_sample_grid

        model.eval()
        device = next(model.parameters()).device
        rows = len(classes) if self.config.conditional else 4
        noise = self.noise(rows * GRID_COLUMNS, torch.Generator().manual_seed(EVAL_SEED)).to(device)
        if not self.config.conditional:
            return plot_sample_grid(model(noise).float().cpu(), path)
        label = torch.arange(rows, device=device).repeat_interleave(GRID_COLUMNS)
        return plot_sample_grid(model(noise[:GRID_COLUMNS].repeat(rows, 1), label).float().cpu(), path, list(classes))


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _player_sums(loss_d: Tensor, loss_g: Tensor, real_logit: Tensor, fake_logit: Tensor) -> Sums:
    """Both players' mean losses and D's mean probabilities, summed over the batch's images."""
    units = len(real_logit)
    loss_d, loss_g = loss_d.detach().float() * units, loss_g.detach().float() * units
    return {"loss": loss_d + loss_g, "loss_d": loss_d, "loss_g": loss_g,
            "d_real": torch.sigmoid(real_logit.detach().float()).sum(),
            "d_fake": torch.sigmoid(fake_logit.detach().float()).sum()}
