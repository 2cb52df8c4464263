"""What every forecaster reads off its windows: the target's recent values, standardised
columns and calendar harmonics. Column 0 of `history` is the target; `future` holds the other
columns (covariates, then the day and week phases) over the horizon."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Columns(nn.Module):
    """The training split's per-column mean and std (from prepare), carried by the model so an
    export takes raw values (GW, °C, phases)."""

    def __init__(self, columns: list[str], mean: list[float], std: list[float]):
        super().__init__()
        self.names = list(columns)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).clamp_min(1e-6))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def history(self, history: Tensor) -> Tensor:  # (B, T, C) -> (B, T, C)
        return (history - self.mean) / self.std

    def future(self, future: Tensor) -> Tensor:  # (B, H, C-1) -> (B, H, C-1)
        return (future - self.mean[1:]) / self.std[1:]

    def target(self, values: Tensor) -> Tensor:
        """Standardised target values back to the target's units."""
        return values * self.std[0] + self.mean[0]

    def scaled_target(self, values: Tensor) -> Tensor:
        return (values - self.mean[0]) / self.std[0]


def fourier(phase: Tensor, harmonics: int) -> Tensor:
    """sin and cos of k * 2 pi * phase for k = 1..harmonics: (...) -> (..., 2 * harmonics)."""
    k = torch.arange(1, harmonics + 1, device=phase.device, dtype=phase.dtype)
    angle = 2 * math.pi * phase[..., None] * k
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


def last_season(history: Tensor, lag: int, horizon: int) -> Tensor:
    """The seasonal naive forecast: the target `lag` steps before each step of the horizon,
    the last season repeated where the horizon is longer: (B, T, C) -> (B, H)."""
    season = last_steps(history, lag)[..., 0]  # (B, lag)
    return season.repeat(1, math.ceil(horizon / lag))[:, :horizon]


def last_steps(history: Tensor, steps: int) -> Tensor:
    """The last `steps` steps of a history of any length: (B, T, C) -> (B, steps, C). `narrow`
    keeps the length static for export; a slice from `T - steps` gives torch.export a
    data-dependent length it cannot guard on."""
    return history.narrow(1, history.shape[1] - steps, steps)
