"""The promotion gate's statistics against scipy, and its decisions on built cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from mastery.config import GateConfig
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tracking.gate import decide, mcnemar, paired_bootstrap

CLASSIFICATION = MetricTable((Metric("accuracy", "maximize", per_example=True), Metric("f1_macro", "maximize")))
FORECAST = MetricTable((Metric("mase", "minimize", per_example=True),))


def paired(b: int, c: int, both_right: int = 0, both_wrong: int = 0) -> tuple[np.ndarray, ...]:
    """Per-example correctness with exactly `b` champion-only and `c` challenger-only wins."""
    champion = [True] * b + [False] * c + [True] * both_right + [False] * both_wrong
    challenger = [False] * b + [True] * c + [True] * both_right + [False] * both_wrong
    return np.array(champion), np.array(challenger)


def metrics(correct: np.ndarray) -> dict[str, float]:
    return {"test_accuracy": float(correct.mean()), "test_f1_macro": float(correct.mean())}


@pytest.mark.parametrize("b, c", [(0, 0), (0, 1), (3, 10), (10, 3), (12, 12), (2, 22)])
def test_mcnemar_exact_matches_binomtest(b, c):
    result = mcnemar(*paired(b, c, both_right=50, both_wrong=5))
    expected = stats.binomtest(c, b + c, 0.5).pvalue if b + c else 1.0
    assert (result.b, result.c, result.method) == (b, c, "exact")
    assert result.p_value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("b, c", [(12, 13), (20, 40), (40, 20), (150, 160), (10, 60)])
def test_mcnemar_chi2_matches_continuity_corrected_chi2(b, c):
    result = mcnemar(*paired(b, c, both_right=500))
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    assert (result.b, result.c, result.method) == (b, c, "chi2")
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, df=1), rel=1e-9)


def test_mcnemar_accepts_zero_one_arrays_and_refuses_unpaired():
    champion, challenger = paired(3, 9)
    assert mcnemar(champion.astype(int), challenger.astype(int)) == mcnemar(champion, challenger)
    with pytest.raises(ValueError, match="paired"):
        mcnemar(champion, challenger[:-1])


CONFIG = GateConfig(thresholds={"test_accuracy": 0.9, "test_f1_macro": 0.9}, min_improvement=0.0)


def judge(config: GateConfig, champion: np.ndarray | None, challenger: np.ndarray):
    champion_metrics = None if champion is None else metrics(champion)
    return decide(config, CLASSIFICATION, metrics(challenger), challenger, champion_metrics, champion)


def test_clearly_better_challenger_passes():
    decision = judge(CONFIG, *paired(b=10, c=60, both_right=900, both_wrong=30))
    assert decision.passed, decision.summary()
    names = [check.name for check in decision.checks]
    assert names == ["threshold test_accuracy", "threshold test_f1_macro",
                     "improvement test_accuracy", "significance (McNemar)"]


def test_improvement_within_noise_fails_on_significance():
    decision = judge(CONFIG, *paired(b=150, c=160, both_right=9500, both_wrong=190))
    failed = {check.name: check for check in decision.checks if not check.passed}
    assert not decision.passed
    assert list(failed) == ["significance (McNemar)"]
    assert "within noise" in failed["significance (McNemar)"].detail


def test_worse_challenger_fails_with_reasons():
    decision = judge(CONFIG, *paired(b=60, c=10, both_right=900, both_wrong=30))
    failed = {check.name: check for check in decision.checks if not check.passed}
    assert not decision.passed
    assert set(failed) == {"improvement test_accuracy", "significance (McNemar)"}
    assert failed["improvement test_accuracy"].figures["gain"] == pytest.approx(-0.05)
    assert "c ≤ b" in failed["significance (McNemar)"].detail


def test_margin_is_required_even_when_significant():
    config = GateConfig(thresholds={}, min_improvement=0.1)
    decision = judge(config, *paired(b=10, c=60, both_right=900, both_wrong=30))
    assert [check.passed for check in decision.checks] == [False, True]


def test_without_champion_thresholds_alone_decide():
    _, good = paired(0, 0, both_right=95, both_wrong=5)
    _, poor = paired(0, 0, both_right=80, both_wrong=20)
    assert judge(CONFIG, None, good).passed
    decision = judge(CONFIG, None, poor)
    assert not decision.passed
    assert [check.passed for check in decision.checks] == [False, False]


def test_missing_metric_fails_its_threshold():
    decision = decide(GateConfig(thresholds={"test_auroc": 0.5}), CLASSIFICATION, {}, np.ones(3, bool), None, None)
    assert not decision.passed
    assert "no metric 'test_auroc'" in decision.checks[0].detail


@pytest.mark.parametrize("champion_correct", [np.ones(99, bool), None])
def test_different_test_sets_are_not_compared(champion_correct):
    challenger = np.ones(100, bool)
    champion_metrics = metrics(np.ones(1))
    decision = decide(CONFIG, CLASSIFICATION, metrics(challenger), challenger, champion_metrics, champion_correct)
    assert not decision.passed
    assert decision.checks[-1].name == "same test set"
    assert not decision.checks[-1].passed


def test_decision_serialises_and_summarises():
    decision = judge(CONFIG, *paired(b=150, c=160, both_right=9500, both_wrong=190))
    assert json.loads(json.dumps(decision.to_dict()))["passed"] is False
    lines = decision.summary().splitlines()
    assert lines[0] == "gate failed 1/4 checks: significance (McNemar)"
    assert [line[0] for line in lines[1:]] == ["✓", "✓", "✓", "✗"]
    assert "b=150  c=160" in lines[-1]


def losses(shift: float, n: int = 5000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-example champion losses and a challenger whose losses move by `shift` on average."""
    rng = np.random.default_rng(seed)
    champion = rng.gamma(2.0, 0.5, n)
    return champion, champion + shift + rng.normal(0.0, 0.5, n)


@pytest.mark.parametrize("shift", [-0.3, -0.02, 0.0, 0.2])
def test_bootstrap_ci_contains_the_true_shift(shift):
    result = paired_bootstrap(*losses(shift))
    assert result.low < shift < result.high
    assert result.low < result.mean_diff < result.high


def test_bootstrap_ci_excludes_zero_only_for_a_real_shift():
    shifted, unshifted = paired_bootstrap(*losses(-0.3)), paired_bootstrap(*losses(0.0))
    assert shifted.high < 0
    assert unshifted.low < 0 < unshifted.high


def test_bootstrap_matches_scipy_and_is_seeded():
    champion, challenger = losses(-0.1, n=800)
    ours = paired_bootstrap(champion, challenger, n_resamples=5000, seed=3)
    ref = stats.bootstrap((challenger - champion,), np.mean, n_resamples=5000, method="percentile",
                          rng=np.random.default_rng(3)).confidence_interval
    half_width = (ref.high - ref.low) / 2
    assert ours.low == pytest.approx(ref.low, abs=0.1 * half_width)
    assert ours.high == pytest.approx(ref.high, abs=0.1 * half_width)
    assert paired_bootstrap(champion, challenger, n_resamples=5000, seed=3) == ours


def test_continuous_scores_where_lower_is_better_go_to_the_paired_bootstrap():
    """A forecaster's per-example errors: a threshold is a maximum, and the gain is a drop."""
    config = GateConfig(thresholds={"test_mase": 0.9})
    champion, better = losses(-0.3)
    champion_metrics = {"test_mase": float(champion.mean())}
    passed = decide(config, FORECAST, {"test_mase": float(better.mean())}, better, champion_metrics, champion)
    assert [c.name for c in passed.checks] == ["threshold test_mase", "improvement test_mase",
                                               "significance (paired bootstrap)"]
    assert passed.passed, passed.summary()
    assert passed.checks[0].figures["maximum"] == 0.9 and passed.checks[1].figures["gain"] > 0.25
    _, same = losses(0.0)
    noise = decide(config, FORECAST, {"test_mase": float(same.mean())}, same, champion_metrics, champion)
    assert not noise.checks[-1].passed and "does not exclude no gain" in noise.checks[-1].detail
    over = decide(config, FORECAST, {"test_mase": 1.2}, better, None, None)
    assert not over.passed and over.checks[0].detail == "1.2 > maximum 0.9"
