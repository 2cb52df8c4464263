"""Score a classifier on a split once; evaluation and the promotion gate read the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mastery.evaluation.metrics import classification_metrics, flat_metrics


@dataclass
class Scores:
    labels: np.ndarray  # (N,)
    probs: np.ndarray  # (N, K) softmax
    class_names: list[str]

    @cached_property
    def metrics(self) -> dict:
        return classification_metrics(self.labels, self.probs, self.class_names)

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def correct(self) -> np.ndarray:
        """Per-example correctness: what a paired test compares."""
        return self.predicted == self.labels

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        return flat_metrics(self.metrics, prefix, per_class)


def score_classifier(model, x, y, class_names, device=None) -> Scores:
    """Softmax outputs of `model` on tensors `x`, scored against labels `y`."""
    from mastery.training.device import CPU
    from mastery.training.inference import predict

    probs = predict(model, x, device or CPU).softmax(dim=1).numpy()
    return Scores(labels=np.asarray(y), probs=probs, class_names=list(class_names))
