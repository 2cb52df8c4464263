"""A classifier's scores on a split, once: evaluation and the promotion gate read the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mastery.evaluation.metrics import classification_metrics, flat_metrics


@dataclass
class ClassificationScores:
    labels: np.ndarray  # (N,)
    probs: np.ndarray  # (N, K) softmax
    class_names: list[str]

    @cached_property
    def metrics(self) -> dict:
        return classification_metrics(self.labels, self.probs, self.class_names)

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    def per_example(self, metric: str) -> np.ndarray:
        """Per-example scores whose mean is `metric`: what a paired test compares."""
        if metric != "accuracy":
            raise ValueError(f"'{metric}' has no per-example scores; accuracy has")
        return self.predicted == self.labels

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        return flat_metrics(self.metrics, prefix, per_class)

    def report(self) -> dict:
        """Everything, JSON-ready (confusion matrix and per-class scores included)."""
        return self.metrics


def score_model(model, task, split: dict, stats: dict, device=None):
    """The task's test scores of `model` on a prepared split (named tensors)."""
    from mastery.training.device import CPU

    return task.scores(model, split, stats, device or CPU)
