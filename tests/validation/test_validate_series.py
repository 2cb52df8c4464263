"""The series suite on real elecdemand data: the clean series passes; an unsorted or gappy
timestamp column and NaN demand each stop `mastery validate`, naming the cause, before any
model is trained or registered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import edit_yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from mastery.cli import app
from mastery.config import Params
from mastery.data.registry import get_dataset
from mastery.validation import validate_raw

INFO = get_dataset("elecdemand")


@pytest.fixture(scope="module")
def elecdemand() -> pd.DataFrame:
    """The packaged series as the CSV source reads it: timestamp, Demand, WorkDay, Temperature."""
    series = INFO.load(Params(pipelines=("forecast",)))["series"]
    return pd.DataFrame({"timestamp": series["timestamp"], "Demand": series["demand"],
                         "WorkDay": series["workday"], "Temperature": series["temperature"]})


def test_the_packaged_series_passes(tmp_path):
    raw = INFO.load(Params(pipelines=("forecast",)))
    assert raw["series"]["timestamp"][[0, -1]].tolist() == [np.datetime64("2014-01-01T00:00"), np.datetime64("2014-12-31T23:30")]
    assert validate_raw(raw, INFO, tmp_path)["success"]


def unsorted(frame):
    order = np.arange(len(frame))
    order[[1000, 1001]] = order[[1001, 1000]]
    return frame.iloc[order]


def gappy(frame):
    return frame.drop(index=[5000, 5001, 5002])


def nan_demand(frame):
    frame = frame.copy()
    frame.loc[[7, 9000], "Demand"] = np.nan
    return frame


def test_unsorted_timestamps_fail_validate_and_register_nothing(project, elecdemand):
    message = failed_validate(project, unsorted(elecdemand))
    assert "column 'timestamp': expect_column_values_to_be_increasing" in message and "index 1001" in message


def test_a_gap_in_the_timestamps_fails_validate_and_registers_nothing(project, elecdemand):
    message = failed_validate(project, gappy(elecdemand))
    assert "column 'step_seconds': expect_column_values_to_be_in_set(value_set=[1800])" in message
    assert "values 7200" in message and "index 5000" in message


def test_nan_demand_fails_validate_and_registers_nothing(project, elecdemand):
    message = failed_validate(project, nan_demand(elecdemand))
    assert "column 'demand': expect_column_values_to_not_be_null" in message and "index 7, 9000" in message


def failed_validate(project, frame: pd.DataFrame) -> str:
    """Point the forecast pipeline at `frame` as its CSV source, run ingest and validate at the
    CLI door, and return validate's message (after checking that it failed and nothing exists
    past it)."""
    csv = project / "elecdemand.csv"
    frame.to_csv(csv, index=False)
    edit_yaml(project / "params.yaml", lambda p: p["sources"].update(elecdemand_csv=str(csv)))
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "--pipeline", "forecast"]).exit_code == 0
    result = runner.invoke(app, ["validate", "--pipeline", "forecast"])
    assert result.exit_code != 0
    assert "elecdemand" in result.output
    assert not (project / "data" / "forecast" / "prepared").exists() and not (project / "models").exists()
    assert MlflowClient().search_registered_models() == []
    return " ".join(result.output.split())
