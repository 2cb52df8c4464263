"""Clustering images without labels (textbook ch. 7; DEC, Xie et al., 2016; IDEC, Guo et al.,
2017): the model softly assigns each image to one of K clusters, K the number of classes.

The model's output is q (B, K), its soft assignment; an image's cluster is q's argmax. Labels
never reach the loss: they only score, by the contingency table of clusters against classes
summed over the split (`mastery.evaluation.clustering`): Hungarian-matched accuracy and NMI.
The loss is DEC's self-training: KL(P || Q), P the target distribution that squares q and
divides by each cluster's soft frequency (then renormalises each row), so confident
assignments grow more confident and large clusters do not swallow small ones. P is computed
from the batch's own q, detached, each step (Guo et al.'s IDEC-pytorch recomputes it over the
whole split every few hundred steps; per batch needs no extra pass and, at 256 images, sees
every cluster). With augmentation in the recipe (DEC-DA, Guo et al., 2018), P is the clean
image's and the assignment fitted to it is a randomly moved view's. A model that reconstructs
(IDEC) left its reconstruction of its input on the training forward: its mean squared error,
weighed by `task.reconstruction_weight`, is added to what is minimised, and reported as
`train_reconstruction`. The reported loss is the KL alone, comparable across families. A model
fitted in closed form (K-means, and the centres of DEC and IDEC) is scored as epoch 0, so
`epochs: 0` is K-means in the same harness.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mastery.tasks.base import Batch, Stepper, Sums, Task, Transform, left_by_forward
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task


def target_distribution(q: Tensor) -> Tensor:
    """DEC's P: q squared over each cluster's soft frequency, each row renormalised: (B, K)."""
    weight = q.square() / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


def self_training_loss(q: Tensor, p: Tensor) -> Tensor:
    """KL(P || Q) per image, averaged; P is held fixed (no gradient)."""
    return F.kl_div(q.clamp_min(1e-12).log(), p, reduction="batchmean")


@register_task
class Clustering(Task):
    name = "clustering"
    metrics = MetricTable((Metric("accuracy", "maximize", per_example=True), Metric("nmi", "maximize")),
                          headline=("accuracy", "nmi"))
    inputs = ("image",)
    output = "assignment"

    def output_specs(self, stats: dict) -> tuple:
        from mastery.export.contract import TensorSpec

        return (TensorSpec(self.output, "float32", ("batch", len(stats["classes"])), min=0.0, max=1.0),)

    def model_dims(self, meta: dict) -> dict:
        return {"clusters": len(meta["classes"])}

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return self_training_loss(outputs, target_distribution(outputs.detach()))

    def train_transform(self, config) -> Transform | None:
        """DEC-DA (Guo et al., 2018): each image also as a randomly moved `view` (the recipe's
        augmentation), so the codes learn that a shifted digit is the same digit."""
        from mastery.data.augment import augmenting

        return augmenting(config.augmentation, into="view")

    def training_step(self, model: nn.Module, batch: Batch, step: Stepper) -> tuple[Sums, int]:
        """The self-training loss plus, for a model that reconstructs, its weighed error. With a
        `view`, P comes from the clean image and the view's assignment is what is fitted to it
        (and what IDEC reconstructs)."""
        view = batch.get("view")
        if view is not None:
            with torch.no_grad():
                target = target_distribution(self.forward(model, batch))
            batch = {**batch, "image": view}
        outputs = self.forward(model, batch)
        if view is None:
            target = target_distribution(outputs.detach())
        loss = self_training_loss(outputs, target)
        drawn = left_by_forward(model, "reconstruction")
        error = sum((F.mse_loss(image, batch["image"]) for image in drawn), torch.zeros((), device=loss.device))
        step("model", loss + self.config.reconstruction_weight * error)
        sums, units = self._sums(loss, outputs.detach(), batch)
        return sums | ({"reconstruction": error.detach().float() * units} if drawn else {}), units

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        """The batch's contingency table, clusters by classes: what matched accuracy and NMI read."""
        size = outputs.shape[1]
        cells = outputs.argmax(dim=1) * size + batch["label"]
        return {"contingency": torch.bincount(cells, minlength=size * size).view(size, size)}

    def summarise(self, totals: Sums, units: int) -> dict[str, float]:
        from mastery.evaluation.clustering import matched_accuracy, nmi

        means = {name: value for name, value in totals.items() if name != "contingency"}
        table = totals["contingency"].cpu().numpy()
        return super().summarise(means, units) | {"accuracy": matched_accuracy(table), "nmi": nmi(table)}

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.clustering import ClusteringScores

        return ClusteringScores(outputs.argmax(dim=1).numpy(), split["label"].numpy(), outputs.shape[1])

    @torch.no_grad()
    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """PCA, t-SNE and UMAP of a fixed sample of test codes, coloured by class."""
        from mastery.evaluation.clustering import map_sample, plot_latent_maps

        chosen = torch.from_numpy(map_sample(len(split["label"])))
        device = next(model.parameters()).device
        codes = model.eval().encode(split["image"][chosen].float().to(device)).cpu()
        return [plot_latent_maps(codes, split["label"][chosen].numpy(), list(meta["classes"]),
                                 directory / "latent_maps.png")]
