"""The distributed form for real on one machine (`make distributed`): PostgreSQL, MLflow and
Prefect servers, two clones standing for two machines with a worker each, a scheduled
training run through them, and a four-worker PostgreSQL study with a worker killed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mastery.localstack import demo

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_distributed_form_runs_a_scheduled_training_and_a_shared_study(tmp_path):
    report = demo(REPO, tmp_path, tiny=True, trials=8)

    assert report["training_run"]["state"] == "Completed" and report["training_run"]["auto_scheduled"]
    assert report["registry"]["quickstart-digits"] == {"versions": 1, "aliases": {"champion": "1"}}
    trials = report["trials"]
    finished = [t for t in trials if t["state"] in ("COMPLETE", "PRUNED")]
    assert report["budget"] == 16 and len(finished) == 16  # exactly the budget, four workers on two machines racing
    assert len({t["number"] for t in trials}) == len(trials)  # no trial number twice
    killed = [t for t in trials if t["state"] == "FAIL"]
    assert len(killed) == 1  # the trial whose worker was SIGKILLed ...
    assert any(t["retry_of"] == killed[0]["number"] for t in finished)  # ... retried with its parameters
    assert Counter(t["state"] for t in trials)["RUNNING"] == 0
