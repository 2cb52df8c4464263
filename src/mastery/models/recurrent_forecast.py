"""Sequence-to-sequence forecasters (textbook ch. 6): an LSTM or GRU encoder reads the recent
steps, a decoder of the same cell walks the horizon from the encoder's state, one step per
output, reading at each step what is known of it: the covariates (observed temperature, an
oracle input; the working-day flag; calendar harmonics), the target one day and one week
earlier (the seasonal naive forecasts, which the decoder corrects), and the target's mean
over the last day and week (the regime: a holiday week runs low, which a state that has
forgotten all but the last day or two cannot tell). All horizon steps are
emitted at once (direct multi-step), so no forecast is fed back and errors do not compound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model
from mastery.models.series_features import Columns, fourier, last_season, last_steps


@dataclass(frozen=True)
class RecurrentForecastConfig:
    horizon: int
    cell: Literal["lstm", "gru"] = "lstm"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0  # between stacked layers
    encode_steps: int = 96  # the recent steps the encoder reads (two days)
    lags: tuple[int, ...] = (48, 336)  # seasonal lags the decoder reads (a day, a week)
    harmonics: int = 3  # Fourier terms of the day and of the week, each
    levels: tuple[int, ...] = (48, 336)  # the decoder reads the target's mean over the last day and week


class RecurrentForecaster(nn.Module):
    """(history (B, T, C), future (B, H, C-1)) -> forecast (B, H); T >= max(lags, encode_steps)."""

    def __init__(self, config: RecurrentForecastConfig, columns: Columns):
        super().__init__()
        self.config = config
        self.columns = columns
        c, width = config, len(columns.names)
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[c.cell]
        calendar = 4 * c.harmonics
        options = {"hidden_size": c.hidden, "num_layers": c.layers, "batch_first": True,
                   "dropout": c.dropout if c.layers > 1 else 0.0}
        self.encoder = cell(width + calendar, **options)
        self.decoder = cell(width - 1 + calendar + len(c.lags) + len(c.levels), **options)
        self.head = nn.Linear(c.hidden, 1)

    def calendar(self, columns: Tensor, offset: int = 0) -> Tensor:  # (B, S, C) -> (B, S, 4K)
        """Harmonics of the day and week phases of `columns` (`offset`: columns left out before them)."""
        k, day, week = self.config.harmonics, self.columns.index("day_phase") - offset, self.columns.index("week_phase") - offset
        return torch.cat([fourier(columns[..., day], k), fourier(columns[..., week], k)], dim=-1)

    def forward(self, history: Tensor, future: Tensor) -> Tensor:
        c, cols = self.config, self.columns
        recent = last_steps(history, c.encode_steps)  # (B, E, C)
        _, state = self.encoder(torch.cat([cols.history(recent), self.calendar(recent)], dim=-1))  # (layers, B, hidden)
        lags = [cols.scaled_target(last_season(history, lag, c.horizon)) for lag in c.lags]  # (B, H) each
        levels = [cols.scaled_target(last_steps(history, n)[..., 0].mean(dim=1, keepdim=True)).expand_as(lags[0])
                  for n in c.levels]  # (B, H) each: this week's regime (a holiday week runs low)
        known = [cols.future(future), self.calendar(future, offset=1), torch.stack([*lags, *levels], dim=-1)]
        decoded, _ = self.decoder(torch.cat(known, dim=-1), state)  # (B, H, hidden)
        return cols.target(self.head(decoded).squeeze(-1) + lags[0])  # a correction of the day-ago value


def _forecaster(cell: str, horizon: int, columns: list[str], mean: list[float], std: list[float],
                **params) -> RecurrentForecaster:
    params |= {key: tuple(params[key]) for key in ("lags", "levels") if key in params}  # YAML gives lists
    return RecurrentForecaster(RecurrentForecastConfig(horizon, cell, **params), Columns(columns, mean, std))


@register_model(modality="series")
def lstm_forecaster(horizon: int, columns: list[str], mean: list[float], std: list[float], **params) -> RecurrentForecaster:
    return _forecaster("lstm", horizon, columns, mean, std, **params)


@register_model(modality="series")
def gru_forecaster(horizon: int, columns: list[str], mean: list[float], std: list[float], **params) -> RecurrentForecaster:
    return _forecaster("gru", horizon, columns, mean, std, **params)
