"""Classification of images or texts: cross-entropy, accuracy per epoch, full scores on test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mastery.data.buckets import bucketed_batches, trim_padding
from mastery.tasks.base import Batch, Sums, Task, Transform, take
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task

INPUTS = {"image": ("image",), "text": ("tokens", "lengths")}


@register_task
class Classification(Task):
    name = "classification"
    metrics = MetricTable(
        (Metric("accuracy", "maximize", per_example=True), Metric("f1_macro", "maximize"),
         Metric("precision_macro", "maximize"), Metric("recall_macro", "maximize"), Metric("roc_auc_ovr", "maximize")),
        headline=("accuracy", "f1_macro"),
    )

    output = "logits"

    def __init__(self, modality: str, config=None):
        super().__init__(modality, config)
        self.inputs = INPUTS[modality]

    def output_specs(self, stats: dict) -> tuple:
        from mastery.export.contract import TensorSpec

        return (TensorSpec(self.output, "float32", ("batch", len(stats["classes"]))),)

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        if self.modality == "text":  # padded to the longest sentence of a batch
            return {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}
        return super().dynamic_dims()

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return F.cross_entropy(outputs, batch["label"])

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        return {"accuracy": (outputs.argmax(dim=1) == batch["label"]).sum(dtype=torch.float32)}

    def train_transform(self, config) -> Transform | None:
        if self.modality != "image":
            return None
        from mastery.data.augment import augmenting

        return augmenting(config.augmentation)

    def train_batches(self, split: Batch, batch_size: int, batches: int, generator: torch.Generator) -> Iterator[Batch]:
        """Texts in batches of about one length, each cut to its longest text (`mastery.data.buckets`)."""
        if self.modality != "text":
            yield from super().train_batches(split, batch_size, batches, generator)
            return
        yield from bucketed_batches(split, batch_size, batches, generator)

    def eval_batches(self, split: Batch, batch_size: int) -> Iterator[Batch]:
        """In order (predictions line up with the split); texts cut to each batch's longest."""
        batches = super().eval_batches(split, batch_size)
        return map(trim_padding, batches) if self.modality == "text" else batches

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        """Test scores from the model's logits on a split: accuracy, macro scores, per class."""
        from mastery.evaluation.scoring import ClassificationScores

        probs = outputs.float().softmax(dim=1).numpy()
        return ClassificationScores(labels=split["label"].numpy(), probs=probs, class_names=list(meta["classes"]))

    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """Confusion matrix and ROC curves; for images, where the model looks (Grad-CAM, attention);
        for texts, how far back a recurrence carries the gradient (vanishing gradient), or what a
        transformer's words attend to."""
        from mastery.evaluation.explain import save_explanations
        from mastery.evaluation.plots import plot_confusion_matrix, plot_roc

        paths = [
            plot_confusion_matrix(scores.metrics["confusion_matrix"], scores.class_names, directory / "confusion_matrix.png"),
            plot_roc(scores.labels, scores.probs, scores.class_names, directory / "roc.png"),
        ]
        if self.modality == "image":
            explained = save_explanations(model, split["image"][:8], split["label"][:8], scores.class_names, directory)
            paths += [explained] if explained else []
        if self.modality == "text":
            from mastery.evaluation.gradient_flow import gradient_flow_figure

            flow = gradient_flow_figure(model, split, directory / "gradient_flow.png")
            paths += [flow] if flow else []
        if self.modality == "text" and hasattr(model, "attention_maps"):
            from mastery.evaluation.attention import attention_figure
            from mastery.modalities.text import load_tokenizer

            few = trim_padding(take(split, slice(0, 4)))
            paths.append(attention_figure(model, few["tokens"], few["lengths"], load_tokenizer(meta),
                                          "which words each word attends to (last block)", directory / "attention.png"))
        return paths

    def model_dims(self, meta: dict) -> dict:
        return {"num_classes": len(meta["classes"])}
