"""Classification: cross-entropy loss, accuracy as the per-batch score."""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor


class Task(Protocol):
    """A loss to minimise and batch scores summed over examples (the trainer divides by N)."""

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor: ...

    def score_sums(self, outputs: Tensor, targets: Tensor) -> dict[str, Tensor]: ...


class ClassificationTask:
    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(outputs, targets)

    def score_sums(self, outputs: Tensor, targets: Tensor) -> dict[str, Tensor]:
        return {"accuracy": (outputs.argmax(dim=1) == targets).sum(dtype=torch.float32)}


def build_task(name: str) -> Task:
    tasks = {"classification": ClassificationTask}
    if name not in tasks:
        raise KeyError(f"unknown task '{name}'; known: {sorted(tasks)}")
    return tasks[name]()
