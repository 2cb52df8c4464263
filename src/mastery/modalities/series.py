"""Time series: a timestamp and value columns, one row a time step (textbook ch. 6); models
see windows, `history` (the last steps, every column) and `future` (the known covariates of
the steps to forecast), and forecast the target over the horizon.

Raw data is one structured array `series` (`timestamp` and a float column per variable), so
a row is a time step and every check sees the whole step. Prepare writes each split as the
stretch of steps it forecasts, preceded by the `history` steps its first window looks back
on (observed before the split starts, so nothing of the future leaks), with two calendar
columns derived from the timestamp: the phase of the day and of the week, in [0, 1). The
windows are cut when the split is read (`torch.unfold`: views, no copies), one per forecast
origin, so the files hold each step once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from mastery.data.content import content_hashes
from mastery.data.raw import Modality as ModalityName
from mastery.data.raw import RawData
from mastery.data.registry import DatasetInfo
from mastery.modalities import register_modality

DAY, WEEK = 86_400, 604_800
MONDAY = 4 * DAY  # 1970-01-01, the epoch, was a Thursday
CALENDAR = ("day_phase", "week_phase")


@dataclass(frozen=True)
class Variable:
    """A value column and the range a plausible value lies in."""

    name: str
    low: float
    high: float


@dataclass(frozen=True)
class SeriesDataset(DatasetInfo):
    modality: ClassVar[ModalityName] = "series"
    step_seconds: int = 3600  # the regular spacing of the timestamps
    target: str = ""  # the variable forecast; the others are covariates, known over the horizon
    variables: tuple[Variable, ...] = ()
    seasons: tuple[int, ...] = ()  # seasonal periods in steps; the first scales MASE
    history: int = 0  # steps a window looks back on
    horizon: int = 1  # steps it forecasts
    split: str = "temporal"


def series_array(timestamps: np.ndarray, columns: dict[str, np.ndarray]) -> np.ndarray:
    """One structured array, a row a time step: `timestamp` (datetime64[s]) and float64 columns."""
    dtype = [("timestamp", "datetime64[s]"), *((name, "f8") for name in columns)]
    series = np.empty(len(timestamps), dtype=dtype)
    series["timestamp"] = timestamps
    for name, values in columns.items():
        series[name] = values
    return series


def calendar(timestamps: np.ndarray) -> np.ndarray:
    """(N, 2): the phase of the day and of the week (from Monday 00:00) of each timestamp."""
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    return np.stack([seconds % DAY / DAY, (seconds - MONDAY) % WEEK / WEEK], axis=1)


def seasonal_scale(target: np.ndarray, season: int) -> float:
    """MASE's denominator: the mean absolute error of the seasonal naive forecast in sample."""
    return float(np.abs(target[season:] - target[:-season]).mean())


class Series:
    name = "series"
    content = "series"

    def prepare(self, raw: RawData, indices: dict[str, np.ndarray], info: SeriesDataset, spec, out: Path) -> dict:
        """Each split's stretch as float32 columns (target first, covariates, calendar), with
        the steps its first window looks back on; the training split's per-column mean and
        standard deviation (models standardise with them) and MASE's scale."""
        series = raw["series"]
        names = [info.target, *(v.name for v in info.variables if v.name != info.target)]
        values = np.column_stack([*(series[name] for name in names), calendar(series["timestamp"])])
        for split, idx in indices.items():
            start = max(int(idx[0]) - info.history, 0)
            np.save(out / f"{split}_values.npy", values[start : int(idx[-1]) + 1].astype(np.float32), allow_pickle=False)
        train = values[indices["train"]]
        columns = [*names, *CALENDAR]
        return {"history": info.history, "horizon": info.horizon, "seasons": list(info.seasons),
                "step_seconds": info.step_seconds,
                "scale": seasonal_scale(train[:, 0], info.seasons[0]),
                "windows": {split: _windows(len(idx) + min(int(idx[0]), info.history), info)
                            for split, idx in indices.items()},
                "dims": {"horizon": info.horizon, "columns": columns, "mean": train.mean(axis=0).tolist(),
                         "std": train.std(axis=0).tolist()}}

    def tensors(self, arrays: dict[str, np.ndarray], stats: dict) -> dict:
        """One window a forecast origin: `history` (N, L, C) of every column, `future` (N, H, C-1)
        of the covariates, `target` (N, H), and `scale` (N,), MASE's denominator per window."""
        import torch

        length, horizon = stats["history"], stats["horizon"]
        windows = torch.from_numpy(arrays["values"]).unfold(0, length + horizon, 1)  # (N, C, L+H), a view
        return {"history": windows[:, :, :length].transpose(1, 2), "future": windows[:, 1:, length:].transpose(1, 2),
                "target": windows[:, 0, length:], "scale": torch.full((len(windows),), stats["scale"])}

    def profile(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Per time step of a raw series (its timestamp, the step since the one before, every
        variable, NaNs), or per window of what a server was sent (`history`: its length and
        the target's statistics); and a content hash either way (a step's timestamp: one
        sampled twice is shared)."""
        values = np.asarray(values)
        if values.dtype.names:
            timestamps = values["timestamp"]
            seconds = timestamps.astype(np.int64)
            step = np.concatenate([[np.nan], np.diff(seconds).astype(np.float64)])
            variables = {name: values[name] for name in values.dtype.names if name != "timestamp"}
            return {"timestamp": timestamps, "step_seconds": step, **variables,
                    "nan_count": np.sum([np.isnan(v) for v in variables.values()], axis=0),
                    "content_hash": content_hashes(seconds)}
        target = values[..., 0]  # (B, T): the target column of each window
        return {"length": np.full(len(values), values.shape[1]), "min": np.nanmin(target, axis=1),
                "max": np.nanmax(target, axis=1), "mean": np.nanmean(target, axis=1),
                "nan_count": np.isnan(values).reshape(len(values), -1).sum(axis=1),
                "content_hash": content_hashes(values)}

    def expectations(self, info: SeriesDataset) -> list:
        """Timestamps strictly increasing, unique and regular (a gap or a repeat is a step of
        another size), every variable present and within its plausible range."""
        import great_expectations.expectations as gxe

        return [
            gxe.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=True),
            gxe.ExpectColumnValuesToBeUnique(column="timestamp"),
            gxe.ExpectColumnValuesToBeInSet(column="step_seconds", value_set=[info.step_seconds]),  # the first is null
            *(check for v in info.variables for check in (
                gxe.ExpectColumnValuesToNotBeNull(column=v.name),
                gxe.ExpectColumnValuesToBeBetween(column=v.name, min_value=v.low, max_value=v.high))),
        ]

    def raw_input(self, contract) -> None:
        """Served as the model's inputs themselves."""

    def input_specs(self, stats: dict) -> tuple:
        """`history`: every column of the last steps (any number, at least the window the model
        trained on); `future`: the covariates over the horizon (observed temperature is an
        oracle input)."""
        from mastery.export.contract import TensorSpec

        columns = len(stats["dims"]["columns"])
        return (TensorSpec("history", "float32", ("batch", "sequence", columns), min_sizes={"sequence": stats["history"]}),
                TensorSpec("future", "float32", ("batch", stats["horizon"], columns - 1)))


def _windows(steps: int, info: SeriesDataset) -> int:
    """Forecast origins in a stretch of `steps` steps: each needs its history and horizon inside."""
    return max(steps - info.history - info.horizon + 1, 0)


SERIES = register_modality(Series())
