"""Dynamic harmonic regression (FPP ch. 9, where `elecdemand` is the worked example): the
target at each step of the horizon regressed on Fourier terms of the day and the week, the
temperature (to the third power: demand rises for heating and for cooling), the working-day
flag and its interaction with the daily profile, plus the last week's mean level. Fitted by
least squares with scikit-learn (`fit_closed_form`, `epochs: 0`), held as a linear layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model
from mastery.models.series_features import Columns, fourier


@dataclass(frozen=True)
class HarmonicConfig:
    horizon: int
    day_harmonics: int = 10
    week_harmonics: int = 5
    temperature_power: int = 3
    level_steps: int = 336  # the recent mean level: the last week's
    ridge: float = 1e-3  # a touch of L2, so collinear harmonics stay well-posed


class HarmonicRegression(nn.Module):
    """(history (B, T, C), future (B, H, C-1)) -> forecast (B, H)."""

    def __init__(self, config: HarmonicConfig, columns: Columns):
        super().__init__()
        self.config = config
        self.columns = columns
        self.head = nn.Linear(self.features_size(), 1)

    def features_size(self) -> int:
        c = self.config
        return 2 * c.day_harmonics * 2 + 2 * c.week_harmonics + c.temperature_power + 2

    def features(self, history: Tensor, future: Tensor) -> Tensor:  # -> (B, H, F)
        c, cols = self.config, self.columns
        scaled = cols.future(future)  # (B, H, C-1)
        temperature = scaled[..., cols.index("temperature") - 1 : cols.index("temperature")]
        workday = future[..., cols.index("workday") - 1 : cols.index("workday")]
        day = fourier(future[..., cols.index("day_phase") - 1], c.day_harmonics)  # (B, H, 2K)
        week = fourier(future[..., cols.index("week_phase") - 1], c.week_harmonics)
        steps = history.shape[1]
        level = cols.scaled_target(history[:, steps - c.level_steps :, 0].mean(dim=1))  # (B,)
        powers = [temperature**p for p in range(1, c.temperature_power + 1)]
        return torch.cat([day, day * workday, week, *powers, workday, level[:, None, None].expand_as(workday)], dim=-1)

    def forward(self, history: Tensor, future: Tensor) -> Tensor:
        return self.columns.target(self.head(self.features(history, future)).squeeze(-1))  # (B, H)

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        """Least squares on every (window, step) pair of the training split."""
        from sklearn.linear_model import Ridge

        with torch.no_grad():
            x = self.features(split["history"], split["future"]).reshape(-1, self.features_size())
            y = self.columns.scaled_target(split["target"]).reshape(-1)
        fitted = Ridge(alpha=self.config.ridge).fit(x.double().cpu().numpy(), y.double().cpu().numpy())
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(fitted.coef_[None], dtype=torch.float32))
            self.head.bias.fill_(float(fitted.intercept_))


@register_model(modality="series")
def harmonic_regression(horizon: int, columns: list[str], mean: list[float], std: list[float],
                        **params) -> HarmonicRegression:
    """Fourier terms, temperature and working days: the regression FPP fits to this very series."""
    return HarmonicRegression(HarmonicConfig(horizon, **params), Columns(columns, mean, std))
