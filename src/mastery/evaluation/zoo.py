"""The candidates side by side: what each scores, what it cost to train, what it costs to serve.

One row per candidate; the step writes the table to `reports/<pipeline>/zoo.md` and logs the
cost figures as metrics on each candidate's run, so MLflow's compare view lines them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mastery.evaluation.cost import count_parameters
from mastery.evaluation.tables import markdown_table
from mastery.tasks.metrics import MetricTable


@dataclass(frozen=True)
class ZooRow:
    candidate: str
    family: str
    scores: dict[str, float]  # the task's headline test metrics, by name
    n_parameters: int
    train_seconds: float  # wall time of all epochs, per-epoch validation included
    latency_ms: float  # median eager forward of the inference form at batch 1
    epochs: int
    max_batches: int | None  # the per-epoch cap of a small budget; None: the whole split

    def cost_metrics(self) -> dict[str, float]:
        return {"n_parameters": self.n_parameters, "train_seconds": self.train_seconds, "latency_ms": self.latency_ms}

    def cells(self, metrics: tuple[str, ...]) -> tuple:
        return (self.candidate, self.family, *(f"{self.scores[m]:.4f}" for m in metrics),
                f"{self.n_parameters:,}", f"{self.train_seconds:.1f}", f"{self.latency_ms:.2f}",
                self.epochs, self.max_batches or "all")  # fmt: skip


def zoo_row(meta: dict, model: nn.Module, scores: dict[str, float], history: list[dict], latency_ms: float,
            max_batches: int | None) -> ZooRow:
    """One trained candidate's row, its latency measured beside the others'."""
    return ZooRow(
        candidate=meta["candidate"],
        family=meta["family"],
        scores=scores,
        n_parameters=count_parameters(model),
        train_seconds=sum(record["epoch_seconds"] for record in history),
        latency_ms=latency_ms,
        epochs=len(history),
        max_batches=max_batches,
    )


def write_zoo_table(rows: list[ZooRow], table: MetricTable, path: Path, title: str, device: torch.device) -> Path:
    """The rows, best on the task's primary metric first, under a note on how latency was measured."""
    metrics = table.shown
    ranked = sorted(rows, key=lambda row: row.scores[metrics[0]], reverse=table.primary.direction == "maximize")
    columns = ("candidate", "family", *(f"test {m.replace('_', ' ')}" for m in metrics), "parameters",
               "train time (s)", "latency (ms)", "epochs", "batches/epoch")
    note = (f"Latency: median eager PyTorch forward pass at batch 1 on `{device}`, one thread, after warm-up, "
            "batch-norm folded into its conv, the candidates timed in interleaved rounds (under ONNX Runtime, "
            "what `mastery serve` runs, the ranking can differ: `benchmarks/nas_latency.py`).")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{note}\n\n" + markdown_table(columns, [row.cells(metrics) for row in ranked]))
    return path
