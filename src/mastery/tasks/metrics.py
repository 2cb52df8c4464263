"""Which way is better: one table per task, read by early stopping, tune, NAS, candidate
selection, the zoo table and the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mastery.errors import MasteryError

Direction = Literal["maximize", "minimize"]
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Metric:
    """`per_example`: the metric is a mean of per-example scores, so two models can be compared
    example by example (the gate: McNemar on booleans, a paired bootstrap on numbers)."""

    name: str
    direction: Direction
    per_example: bool = False


@dataclass(frozen=True)
class MetricTable:
    """A task's metrics, the primary one first; `loss` (minimised) is always among them."""

    metrics: tuple[Metric, ...]
    headline: tuple[str, ...] = ()  # what `dvc metrics` and the zoo table show; the primary by default

    @property
    def primary(self) -> Metric:
        return self.metrics[0]

    @property
    def shown(self) -> tuple[str, ...]:
        return self.headline or (self.primary.name,)

    def metric(self, key: str) -> Metric:
        """The metric behind `key`, with or without a split prefix (`val_accuracy`, `accuracy`)."""
        split, _, rest = key.partition("_")
        name = rest if split in SPLITS else key
        for metric in (*self.metrics, LOSS):
            if metric.name == name:
                return metric
        known = ", ".join(m.name for m in (*self.metrics, LOSS))
        raise MasteryError(f"no metric '{key}' for this task; metrics: {known} (with a train_, val_ or test_ prefix)")

    def direction(self, key: str) -> Direction:
        return self.metric(key).direction

    def better(self, key: str, new: float, old: float, margin: float = 0.0) -> bool:
        """Is `new` better than `old` on `key` by more than `margin`?"""
        return new > old + margin if self.direction(key) == "maximize" else new < old - margin

    def best(self, metric: str, items, key=None):
        """The best of `items` on `metric` (max or min of `key(item)`, or of the items themselves)."""
        return (max if self.direction(metric) == "maximize" else min)(items, key=key)

    def gain(self, key: str, new: float, old: float) -> float:
        """How much better `new` is than `old`, positive when better whatever the direction."""
        return new - old if self.direction(key) == "maximize" else old - new


LOSS = Metric("loss", "minimize")
