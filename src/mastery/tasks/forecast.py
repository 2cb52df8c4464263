"""Forecasting a series over a horizon: the mean absolute scaled error is both the loss and the
primary metric, per window and averaged over windows."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from mastery.tasks.base import Batch, Sums, Task
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task


@register_task
class Forecast(Task):
    name = "forecast"
    metrics = MetricTable(
        (Metric("mase", "minimize", per_example=True), Metric("mape", "minimize"), Metric("mae", "minimize"),
         Metric("rmse", "minimize")),
        headline=("mase", "mape"),
    )
    inputs = ("history", "future")
    output = "forecast"

    def output_specs(self, stats: dict) -> tuple:
        from mastery.export.contract import TensorSpec

        return (TensorSpec(self.output, "float32", ("batch", stats["horizon"])),)

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        """Any batch, any history at least as long as the model reads; the horizon is fixed."""
        return {"history": {0: "batch", 1: "sequence"}, "future": {0: "batch"}}

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """MASE: absolute errors in units of the training split's seasonal naive error, so the
        loss is the metric and reads the same on every series."""
        return ((outputs - batch["target"]).abs().mean(dim=1) / batch["scale"]).mean()

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        absolute = (outputs.float() - batch["target"]).abs()
        return {"mase": (absolute.mean(dim=1) / batch["scale"]).sum(),
                "mape": 100 * (absolute / batch["target"].abs()).mean(dim=1).sum()}

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.forecasting import ForecastScores

        return ForecastScores(forecast=outputs.float().numpy(), target=split["target"].double().numpy(),
                              scale=float(meta["scale"]), step_minutes=meta["step_seconds"] / 60)

    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """Forecast vs actual over the test split, and the error by lead time."""
        from mastery.evaluation.forecasting import plot_forecast

        return [plot_forecast(scores, directory / "forecast.png")]
