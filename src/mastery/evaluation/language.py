"""A language model's scores on a split, once (evaluation, the gate and parity read the same
figures): nats per predicted token, perplexity, accuracy; for a causal model also bits per
character and the loss by position in the window.

A per-example score is an example's mean loss, so two models can be compared example by
example (the gate's paired bootstrap): a causal model's examples are its consecutive windows,
all of one length, and a masked model's are its hidden tokens, so either way their mean is the
split's loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class TokenScores:
    losses: np.ndarray  # (N, T) or (M,): nats at each predicted token
    correct: np.ndarray  # the same shape: the most likely token was the right one

    @classmethod
    def of(cls, logits, target):
        """From (..., V) logits and the (...) tokens they should have predicted."""
        import torch.nn.functional as F

        losses = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
        return cls(losses=losses.view(target.shape).double().numpy(), correct=(logits.argmax(dim=-1) == target).numpy())

    @property
    def metrics(self) -> dict[str, float]:
        loss = float(self.losses.mean())
        return {"loss": loss, "perplexity": math.exp(loss), "accuracy": float(self.correct.mean())}

    def per_example(self, metric: str) -> np.ndarray:
        """Per-example scores whose mean is `metric`: what a paired test compares."""
        if metric != "loss":
            raise ValueError(f"'{metric}' has no per-example scores; loss has")
        return self.losses.reshape(len(self.losses), -1).mean(axis=1)

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        """The scalar scores keyed for MLflow and `dvc metrics` (`per_class` is classification's)."""
        return {f"{prefix}{name}": value for name, value in self.metrics.items()}

    def report(self) -> dict:
        """Everything, JSON-ready."""
        return {**self.metrics, "tokens": int(self.losses.size)}


class LanguageModelScores(TokenScores):
    """A causal model's, over (N, T) windows of a character stream."""

    @property
    def metrics(self) -> dict[str, float]:
        metrics = super().metrics
        return metrics | {"bits_per_char": metrics["loss"] / math.log(2)}

    def report(self) -> dict:
        """With the loss by position in the window: how much a longer context helps."""
        return {**super().report(), "windows": len(self.losses),
                "loss_by_position": self.losses.mean(axis=0).round(4).tolist()}
