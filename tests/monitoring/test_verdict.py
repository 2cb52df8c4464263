"""The verdict over Evidently's per-column tests: effect sizes, a share of columns, enough rows."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mastery.config.schema import MonitorConfig
from mastery.errors import MasteryError
from mastery.monitoring.drift import compare
from mastery.monitoring.tables import parse_since

COLUMNS = {"predicted_class": "cat", "confidence": "num", "min": "num", "max": "num", "mean": "num"}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 4000
    return pd.DataFrame({"predicted_class": rng.integers(0, 10, n), "confidence": rng.beta(8, 1, n),
                         "min": np.zeros(n), "max": np.minimum(1, rng.normal(0.98, 0.02, n)), "mean": rng.normal(0.3, 0.1, n)})


def test_one_moved_column_is_named_but_is_not_drift_two_are(reference):
    current = reference.sample(800, random_state=1)
    one = compare(reference, current.assign(mean=current["mean"] + 0.05), COLUMNS, MonitorConfig())[1]
    assert one.drifted == ["mean"] and one.drift is False and one.share == pytest.approx(0.2)
    assert one.headline().startswith("no drift (1/5 columns drifted: mean (")
    two = compare(reference, current.assign(mean=current["mean"] + 0.05, min=0.1), COLUMNS, MonitorConfig())[1]
    assert two.drifted == ["min", "mean"] and two.drift is True
    assert two.headline().startswith("DRIFT in 2/5 columns: min (")
    scores = {c.column: c for c in two.columns}
    assert scores["predicted_class"].method == "psi" and scores["mean"].method == "wasserstein"
    assert scores["mean"].score == pytest.approx(0.5, abs=0.1)  # 0.05 on a 0.1 spread: half a deviation


def test_too_few_rows_get_no_verdict_and_a_per_column_threshold_wins(reference):
    current = reference.sample(300, random_state=2).assign(min=0.1, mean=lambda f: f["mean"] + 0.05)
    judged = compare(reference, current, COLUMNS, MonitorConfig())[1]
    assert judged.drift is None and "300 current rows, fewer than monitor.min_rows = 500" in judged.headline()
    relaxed = MonitorConfig(min_rows=100, thresholds={"mean": 1.0})
    drifted = compare(reference, current, COLUMNS, relaxed)[1].drifted
    assert "min" in drifted and "mean" not in drifted


def test_since_takes_an_iso_time_or_a_span_back_from_now():
    assert parse_since("2026-12-01T09:00") == "2026-12-01T09:00:00.000+00:00"
    assert parse_since("2026-12-01T10:00+01:00") == "2026-12-01T09:00:00.000+00:00"
    hour_ago = datetime.fromisoformat(parse_since("1h"))
    assert abs(datetime.now(UTC) - timedelta(hours=1) - hour_ago) < timedelta(seconds=5)
    with pytest.raises(MasteryError, match="give an ISO time"):
        parse_since("yesterday")
