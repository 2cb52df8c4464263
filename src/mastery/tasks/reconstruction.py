"""Reconstruction of images (textbook ch. 7, autoencoders): the model reads an image, maybe
corrupted, and draws the clean one back.

The loss is the mean squared error on [0, 1] pixels: PSNR, the metric, is a function of it,
so minimising it maximises PSNR directly, where binary cross-entropy on grey (not binary)
targets has a floor above zero and weighs errors near black and white more. A model that
penalises its code (a sparse autoencoder's `code_penalty`) has the penalty added to what the
optimizer minimises; the reported loss stays the reconstruction error, so it compares across
models. The target is always the clean image (`clean` in a batch, else the image itself).

Two noises, on [0, 1] pixels and clipped to them: a candidate trains a denoiser with its
recipe's `augmentation.noise_std`, drawn afresh each step (its shift and mirror move the
image before the noise, so the target moves too); every model is judged on val and test
images under the spec's `task.noise_std`, drawn once from `task.noise_seed`, so epochs,
candidates and the baselines (the noisy input, a 3x3 median filter) meet the same noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn

from mastery.tasks.base import Batch, Stepper, Sums, Task, Transform, left_by_forward, take
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task

FIGURE_IMAGES = 8


def add_noise(images: Tensor, std: float, generator: Generator) -> Tensor:
    """`images` plus gaussian noise of `std`, clipped to [0, 1]; drawn on the generator's device."""
    if not std:
        return images
    noise = torch.randn(images.shape, generator=generator, device=generator.device).to(images)
    return (images + std * noise).clamp(0, 1)


def clean(batch: Batch) -> Tensor:
    """The target: the image before any noise."""
    return batch.get("clean", batch["image"])


def unit_image_specs(name: str, stats: dict) -> tuple:
    """One exported output: a batch of images of the input's shape, pixels in [0, 1]."""
    from mastery.export.contract import TensorSpec

    return (TensorSpec(name, "float32", ("batch", *stats["dims"]["in_shape"]), min=0.0, max=1.0),)


@register_task
class Reconstruction(Task):
    name = "reconstruction"
    metrics = MetricTable((Metric("psnr", "maximize", per_example=True), Metric("ssim", "maximize")),
                          headline=("psnr", "ssim"))
    inputs = ("image",)
    output = "reconstruction"

    def __init__(self, modality: str, config=None):
        super().__init__(modality, config)
        if self.config.anomalies:  # evaluate scores them: a headline figure, maximised, like any other
            self.metrics = MetricTable((*self.metrics.metrics, Metric("anomaly_auc", "maximize")),
                                       headline=(*self.metrics.shown, "anomaly_auc"))

    def output_specs(self, stats: dict) -> tuple:
        return unit_image_specs(self.output, stats)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return F.mse_loss(outputs, clean(batch))

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        from mastery.evaluation.reconstruction import psnr

        return {"psnr": psnr(outputs.float(), clean(batch)).sum()}

    def training_step(self, model: nn.Module, batch: Batch, step: Stepper) -> tuple[Sums, int]:
        """The reconstruction error plus any code penalty is minimised; both are reported."""
        outputs = self.forward(model, batch)
        loss = self.loss(outputs, batch)
        penalty = sum(left_by_forward(model, "code_penalty"), torch.zeros((), device=loss.device))
        step("model", loss + penalty)
        sums, units = self._sums(loss, outputs.detach(), batch)
        return sums | {"penalty": penalty.detach().float() * units}, units

    def train_transform(self, config) -> Transform | None:
        """Shift and mirror the image (the target follows), then add the recipe's noise to the input."""
        from mastery.data.augment import Augmenter

        augmentation = config.augmentation
        move = Augmenter(dataclasses.replace(augmentation, noise_std=0.0))
        if not (move.enabled or augmentation.noise_std):
            return None

        def transform(batch: Batch, generator: Generator) -> Batch:
            target = move(batch["image"], generator)
            return {**batch, "clean": target, "image": add_noise(target, augmentation.noise_std, generator)}

        return transform

    def corrupted(self, split: Batch) -> Batch:
        """The split as every model is judged on it: its images under the spec's fixed, seeded
        noise, the clean ones kept as the target."""
        generator = torch.Generator().manual_seed(self.config.noise_seed)
        return {**split, "clean": split["image"], "image": add_noise(split["image"], self.config.noise_std, generator)}

    def eval_batches(self, split: Batch, batch_size: int) -> Iterator[Batch]:
        return super().eval_batches(self.corrupted(split), batch_size)

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.reconstruction import ReconstructionScores

        return ReconstructionScores(clean=split["image"].float(), noisy=self.corrupted(split)["image"].float(),
                                    reconstructed=outputs.float(), noise_std=self.config.noise_std)

    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """Test images: original, noisy, reconstructed and median-filtered, with their PSNR; where
        the spec names anomalies, the ROC and histograms of their reconstruction errors."""
        from mastery.evaluation.anomaly import plot_anomaly_scores
        from mastery.evaluation.reconstruction import plot_reconstructions

        paths = [plot_reconstructions(scores, directory / "reconstructions.png", FIGURE_IMAGES)]
        return paths + ([plot_anomaly_scores(scores.anomaly, directory / "anomalies.png")] if scores.anomaly else [])

    def epoch_figures(self, model: nn.Module, val: Batch, stats: dict, directory: Path) -> list[Path]:
        """The same validation images, under the same noise, reconstructed by each epoch's model."""
        from mastery.evaluation.reconstruction import plot_reconstructions
        from mastery.training.inference import predict

        few = take(val, slice(0, FIGURE_IMAGES))
        outputs = predict(model, self, few, next(model.parameters()).device)
        return [plot_reconstructions(self.score(outputs, few, stats), directory / "reconstructions.png")]
