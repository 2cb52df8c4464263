"""A forecaster's scores on a split, once (evaluation, the gate and parity read the same
figures), and its forecast-vs-actual plots.

MASE (Hyndman & Koehler 2006) divides each absolute error by the in-sample mean absolute
error of the seasonal naive forecast on the training split (lag: the dataset's first season),
so 1.0 is "as good as last season was in training" whatever the units; MAPE is in percent.
A window's per-example score is its mean absolute scaled error, so two models can be
compared window by window (the gate's paired bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np


@dataclass
class ForecastScores:
    forecast: np.ndarray  # (N, H)
    target: np.ndarray  # (N, H)
    scale: float  # MASE's denominator
    step_minutes: float  # the series' spacing, for the plots' time axis

    @cached_property
    def error(self) -> np.ndarray:
        return self.forecast.astype(np.float64) - self.target

    @cached_property
    def metrics(self) -> dict[str, float]:
        absolute = np.abs(self.error)
        return {"mase": float(absolute.mean() / self.scale), "mape": float(100 * (absolute / np.abs(self.target)).mean()),
                "mae": float(absolute.mean()), "rmse": float(np.sqrt((self.error**2).mean()))}

    def per_example(self, metric: str) -> np.ndarray:
        """Per-window scores whose mean is `metric`: what a paired test compares."""
        if metric != "mase":
            raise ValueError(f"'{metric}' has no per-example scores; mase has")
        return np.abs(self.error).mean(axis=1) / self.scale

    def flat(self, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
        """The scalar scores keyed for MLflow and `dvc metrics` (`per_class` is classification's)."""
        return {f"{prefix}{name}": value for name, value in self.metrics.items()}

    def report(self) -> dict:
        """Everything, JSON-ready: the scores, and MASE at each step of the horizon."""
        by_step = np.abs(self.error).mean(axis=0) / self.scale
        return {**self.metrics, "scale": self.scale, "windows": len(self.target), "mase_by_step": by_step.round(4).tolist()}


def stitched(values: np.ndarray, horizon: int) -> np.ndarray:
    """Forecasts from origins a horizon apart, end to end, covering the split's steps once
    (the last origin supplies the tail): what a day-ahead forecaster issued each day."""
    joined = np.concatenate(values[::horizon])
    missing = len(values) - 1 + horizon - len(joined)  # 0 <= missing < horizon
    return np.concatenate([joined, values[-1][horizon - missing :]]) if missing else joined


def plot_forecast(scores: ForecastScores, path: str | Path) -> Path:
    """Actual vs forecast over the split (one forecast a horizon, from origins a horizon
    apart), and MASE by steps ahead over every origin."""
    from mastery.evaluation.plots import _figure, _save

    horizon, step_minutes = scores.target.shape[1], scores.step_minutes
    actual, forecast = stitched(scores.target, horizon), stitched(scores.forecast, horizon)
    hours = np.arange(len(actual)) * step_minutes / 60
    fig, (series, by_step) = _figure(2, (13, 3.8))
    series.plot(hours, actual, color="black", linewidth=1.2, label="actual")
    series.plot(hours, forecast, color="tab:orange", linewidth=1.0, label="forecast")
    for origin in hours[::horizon]:
        series.axvline(origin, color="grey", linewidth=0.4, alpha=0.5)
    series.set(xlabel="hours into the split (grey: a forecast's origin)", ylabel="target",
               title=f"forecast vs actual (MASE {scores.metrics['mase']:.3f}, MAPE {scores.metrics['mape']:.2f}%)")
    series.legend(loc="upper right")
    steps = np.arange(1, horizon + 1) * step_minutes / 60
    by_step.plot(steps, scores.report()["mase_by_step"], color="tab:orange")
    by_step.set(xlabel="hours ahead", ylabel="MASE", title="error by lead time", ylim=(0, None))
    return _save(fig, path)
