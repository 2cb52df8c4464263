"""Evidently's drift report over the reference and the current data, and our verdict.

Why not Evidently's defaults: it picks each column's test by the reference's size — p-value
tests (Kolmogorov-Smirnov, chi-square) up to 1,000 rows, distances (Wasserstein,
Jensen-Shannon) above — so one pipeline's verdict changes meaning as its data grows, and a
p-value shrinks with the sample: on thousands of rows it flags differences too small to
matter, and at 5 % per column a handful of columns raise a false alarm on a good share of
healthy days. Here every column gets an effect size, whatever the sizes: the normed
Wasserstein distance (the distance between the two distributions in reference standard
deviations) for numbers, the population stability index for classes; a column drifts when
its effect passes its threshold, and the traffic drifts when at least `drift_share` of the
columns do. The thresholds sit above the sampling noise of a few hundred rows and below the
shifts we must catch; benchmarks/drift_calibration.py measures both (RESULTS.md).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import pandas as pd

from mastery.config.schema import MonitorConfig


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # "num" | "cat"
    method: str
    threshold: float
    score: float
    drifted: bool


@dataclass(frozen=True)
class Verdict:
    drift: bool | None  # None: too few current rows to judge
    drifted: list[str]
    share: float  # of the compared columns that drifted
    drift_share: float  # the share at which the traffic counts as drifted
    reference_rows: int
    current_rows: int
    columns: list[ColumnDrift] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def headline(self) -> str:
        if self.drift is None:
            return f"no verdict: {self.note}"
        moved = ", ".join(f"{c.column} ({c.score:.3g} >= {c.threshold:g})" for c in self.columns if c.drifted)
        if self.drift:
            return f"DRIFT in {len(self.drifted)}/{len(self.columns)} columns: {moved}"
        return f"no drift ({len(self.drifted)}/{len(self.columns)} columns drifted{': ' + moved if moved else ''})"


def compare(reference: pd.DataFrame, current: pd.DataFrame, columns: dict[str, str], config: MonitorConfig):
    """(Evidently snapshot, verdict) for `columns` (name -> "num" | "cat") of the two tables."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c, kind in columns.items() if kind == "num"]
    categorical = [c for c, kind in columns.items() if kind == "cat"]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    preset = DataDriftPreset(
        columns=list(columns),
        drift_share=config.drift_share,
        num_method=config.num_method,
        cat_method=config.cat_method,
        num_threshold=config.num_threshold,
        cat_threshold=config.cat_threshold,
        per_column_threshold=dict(config.thresholds) or None,
    )

    def table(frame: pd.DataFrame):
        frame = frame[list(columns)].copy()
        for name in categorical:
            frame[name] = frame[name].astype(str)  # a class index is a category, not a number
        return Dataset.from_pandas(frame, data_definition=definition)

    with warnings.catch_warnings(), _quiet_numpy():
        warnings.simplefilter("ignore")  # constant columns (no NaN ever) make numpy divide by zero in Evidently's plots
        snapshot = Report([preset], include_tests=True).run(current_data=table(current), reference_data=table(reference))
    return snapshot, verdict(snapshot.dict(), columns, config, len(reference), len(current))


def verdict(result: dict, columns: dict[str, str], config: MonitorConfig, reference_rows: int, current_rows: int) -> Verdict:
    """Our verdict from the snapshot: a column drifted where Evidently's drift test on it failed."""
    scores = {m["config"]["column"]: m for m in result["metrics"] if m["config"]["type"].endswith(":ValueDrift")}
    failed = {t["metric_config"]["params"]["column"]: t["status"] == "FAIL" for t in result["tests"]
              if t["metric_config"]["params"]["type"].endswith(":ValueDrift")}
    drifts = [ColumnDrift(name, kind, scores[name]["config"]["method"], float(scores[name]["config"]["threshold"]),
                          float(scores[name]["value"]), failed[name]) for name, kind in columns.items()]
    drifted = [c.column for c in drifts if c.drifted]
    share = len(drifted) / len(drifts) if drifts else 0.0
    common = {"drifted": drifted, "share": share, "drift_share": config.drift_share,
              "reference_rows": reference_rows, "current_rows": current_rows, "columns": drifts}
    if current_rows < config.min_rows:
        return Verdict(drift=None, note=f"{current_rows} current rows, fewer than monitor.min_rows = {config.min_rows}", **common)
    return Verdict(drift=share >= config.drift_share, **common)


def _quiet_numpy():
    import numpy as np

    return np.errstate(divide="ignore", invalid="ignore")
