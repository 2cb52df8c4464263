"""The forecasting families on windows shaped like elecdemand's: shapes, gradients, the
closed-form baselines against what they claim to be, and an ONNX round trip with a dynamic
batch and history length."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mastery.models import build_model, list_models

FORECASTERS = ("seasonal_naive", "ets", "harmonic_regression", "lstm_forecaster", "gru_forecaster")
COLUMNS = ["demand", "temperature", "workday", "day_phase", "week_phase"]
HORIZON, HISTORY = 48, 336
SMALL = {"lstm_forecaster": {"hidden": 8, "encode_steps": 48},
         "gru_forecaster": {"hidden": 8, "encode_steps": 48}}


def test_the_forecasters_are_the_series_families():
    assert sorted(FORECASTERS) == list_models("series")  # and so out of the image zoo and explanation tests


def windows(batch: int, steps: int = HISTORY, seed: int = 0) -> dict[str, torch.Tensor]:
    """Demand-like windows: a daily and weekly cycle plus noise, temperature, workdays, phases."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps + HORIZON, dtype=torch.float32) + torch.randint(0, 336, (batch, 1), generator=g)
    day, week = t % 48 / 48, t % 336 / 336
    temperature = 16 + 6 * torch.sin(2 * torch.pi * day) + torch.randn(batch, 1, generator=g)
    workday = (week < 5 / 7).float()
    demand = 4.5 + 0.8 * torch.sin(2 * torch.pi * day) + 0.5 * workday + 0.02 * (temperature - 16) ** 2
    demand = demand + 0.05 * torch.randn(demand.shape, generator=g)
    series = torch.stack([demand, temperature, workday, day, week], dim=-1)  # (B, T+H, C)
    return {"history": series[:, :steps], "future": series[:, steps:, 1:], "target": series[:, steps:, 0]}


def build(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    sample = windows(64)["history"].reshape(-1, len(COLUMNS))
    return build_model(name, horizon=HORIZON, columns=COLUMNS, mean=sample.mean(0).tolist(),
                       std=sample.std(0).tolist(), **SMALL.get(name, {}))


def fitted(name: str) -> nn.Module:
    model = build(name)
    if hasattr(model, "fit_closed_form"):
        model.fit_closed_form(windows(256, seed=1))
    return model.eval()


@pytest.mark.parametrize("name", FORECASTERS)
def test_one_finite_forecast_per_step_of_the_horizon_for_any_history_length(name):
    model = fitted(name)
    for steps in (HISTORY, HISTORY + 100):
        batch = windows(3, steps)
        with torch.no_grad():
            out = model(batch["history"], batch["future"])
        assert out.shape == (3, HORIZON) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["lstm_forecaster", "gru_forecaster"])
def test_every_parameter_of_a_recurrent_forecaster_gets_a_gradient(name):
    model, batch = build(name), windows(4)
    (model(batch["history"], batch["future"]) - batch["target"]).abs().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("lag", [48, 336])
def test_seasonal_naive_copies_the_target_one_season_back(lag):
    model = build_model("seasonal_naive", horizon=HORIZON, lag=lag)
    model.fit_closed_form(windows(2))
    batch = windows(2, seed=3)
    expected = batch["history"][:, -lag:, 0][:, :HORIZON]
    assert torch.equal(model(batch["history"], batch["future"]), expected)


def test_ets_forecasts_what_statsmodels_forecasts_from_the_same_start():
    """The unrolled linear map is statsmodels' own ETS(A,N,A) recursion, started from the
    window's first season, with the smoothing statsmodels fitted. The last step of a season
    ahead is left out: statsmodels 0.15 forecasts it from the seasonal term before the last
    observation's update, FPP's formula (ours, l_T + s_T) from the one after."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from mastery.models.linear_forecast import fit_ets, training_series

    model = fitted("ets")
    window = windows(1, seed=4)["history"][0, -336:, 0].double().numpy()
    alpha, gamma = fit_ets(training_series(windows(256, seed=1)), 48)  # what fit_closed_form fitted
    level = window[:48].mean()
    reference = ExponentialSmoothing(window[48:], seasonal="add", seasonal_periods=48, initialization_method="known",
                                     initial_level=level, initial_seasonal=window[:48] - level)
    expected = reference.fit(smoothing_level=alpha, smoothing_seasonal=gamma, optimized=False).forecast(HORIZON)
    history = torch.zeros(1, 336, len(COLUMNS))
    history[0, :, 0] = torch.from_numpy(window)
    with torch.no_grad():
        got = model(history, torch.zeros(1, HORIZON, len(COLUMNS) - 1))[0].double().numpy()
    np.testing.assert_allclose(got[: 48 - 1], expected[: 48 - 1], rtol=1e-5)


def test_harmonic_regression_fits_demand_from_temperature_and_calendar():
    model, test = fitted("harmonic_regression"), windows(32, seed=5)
    with torch.no_grad():
        error = (model(test["history"], test["future"]) - test["target"]).abs().mean()
    naive = (test["history"][:, -48:, 0] - test["target"]).abs().mean()
    assert error < 0.5 * naive  # the noise is 0.05 GW; a day-ago copy misses the temperature swings


# a recurrent forecaster's export takes over a minute on two busy cores: the pipeline test
# exports a baseline, `-m slow` the GRU
@pytest.mark.parametrize("name", [pytest.param("gru_forecaster", marks=pytest.mark.slow), "harmonic_regression"])
def test_onnx_export_takes_any_batch_and_history_length(name, tmp_path):
    from mastery.export import export_onnx, onnx_predict, onnx_session
    from mastery.tasks import build_task

    task, model = build_task("forecast", "series"), fitted(name)
    example = {key: value[:, -400:] if key == "history" else value for key, value in windows(5).items() if key in task.inputs}
    path = export_onnx(model, example, task.dynamic_dims(), task.output, tmp_path / "model.onnx", {})
    session = onnx_session(path)
    for batch, steps in ((2, 400), (7, 500)):
        inputs = {k: v for k, v in windows(batch, steps, seed=6).items() if k in task.inputs}
        with torch.no_grad():
            eager = model(*inputs.values()).numpy()
        exported = onnx_predict(session, {k: v.numpy() for k, v in inputs.items()})
        np.testing.assert_allclose(exported, eager, atol=1e-4)
