"""A language model's scores on a split, once (evaluation, the gate and parity read the same
figures): nats per token, perplexity, bits per character, next-token accuracy.

A window's per-example score is its mean loss, so two models can be compared window by window
(the gate's paired bootstrap): windows are consecutive and of one length, so their mean is the
split's loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class LanguageModelScores:
    losses: np.ndarray  # (N, T): nats at each position of each window
    correct: np.ndarray  # (N, T): the most likely token was the next one

    @classmethod
    def of(cls, logits, target) -> LanguageModelScores:
        import torch.nn.functional as F

        losses = F.cross_entropy(logits.float().flatten(0, 1), target.flatten(), reduction="none")
        return cls(losses=losses.view(target.shape).double().numpy(),
                   correct=(logits.argmax(dim=-1) == target).numpy())

    @property
    def metrics(self) -> dict[str, float]:
        loss = float(self.losses.mean())
        return {"loss": loss, "perplexity": math.exp(loss), "bits_per_char": loss / math.log(2),
                "accuracy": float(self.correct.mean())}

    def per_example(self, metric: str) -> np.ndarray:
        """Per-window scores whose mean is `metric`: what a paired test compares."""
        if metric != "loss":
            raise ValueError(f"'{metric}' has no per-example scores; loss has")
        return self.losses.mean(axis=1)

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        """The scalar scores keyed for MLflow and `dvc metrics` (`per_class` is classification's)."""
        return {f"{prefix}{name}": value for name, value in self.metrics.items()}

    def report(self) -> dict:
        """Everything, JSON-ready: the scores, and the loss by position in the window (how much
        a longer context helps)."""
        return {**self.metrics, "windows": len(self.losses), "tokens": int(self.losses.size),
                "loss_by_position": self.losses.mean(axis=0).round(4).tolist()}
