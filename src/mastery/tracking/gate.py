"""The promotion gate: absolute thresholds, then a paired comparison with the champion.

A challenger replaces the champion only when it clears every threshold, improves the
primary metric by the configured margin, and is significantly better on the same test
examples, so that noise alone never promotes a model. Pure statistics, no MLflow.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mastery.config import GateConfig
from mastery.tasks.metrics import MetricTable

EXACT_BELOW = 25  # discordant pairs under which McNemar's chi-square approximation is poor


@dataclass(frozen=True)
class McNemarResult:
    b: int  # champion right, challenger wrong
    c: int  # champion wrong, challenger right
    statistic: float  # min(b, c) for the exact test, the corrected chi-square otherwise
    p_value: float
    method: str  # "exact" or "chi2"


@dataclass(frozen=True)
class BootstrapResult:
    mean_diff: float  # mean(challenger - champion)
    low: float
    high: float


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    checks: list[Check]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def headline(self) -> str:
        """One line: the verdict and, when it failed, which checks failed."""
        failed = [c.name for c in self.checks if not c.passed]
        if not failed:
            return f"passed {len(self.checks)}/{len(self.checks)} checks"
        return f"failed {len(failed)}/{len(self.checks)} checks: " + "; ".join(failed)

    def summary(self) -> str:
        """The headline, then one line per check; a failed check also says why."""
        lines = [f"gate {self.headline()}"]
        for check in self.checks:
            figures = "  ".join(f"{k}={_fmt(v)}" for k, v in check.figures.items())
            reason = "" if check.passed else f"  — {check.detail}"
            lines.append(f"{'✓' if check.passed else '✗'} {check.name}: {figures}{reason}")
        return "\n".join(lines)


def mcnemar(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> McNemarResult:
    """McNemar's test on paired per-example correctness.

    Both models answer the same examples, so most examples are right (or wrong) for both
    and carry no information about which model is better; only the discordant pairs do.
    Comparing two accuracies as independent proportions ignores that pairing: the two
    accuracies share every easy and hard example, so they are strongly correlated, and
    that test overstates the noise in their difference and misses real gains. Under the
    null each discordant pair is a fair coin: exact binomial for few pairs, chi-square for many.
    """
    champion, challenger = (a.astype(bool) for a in _paired(champion_correct, challenger_correct))
    b = int(np.sum(champion & ~challenger))
    c = int(np.sum(~champion & challenger))
    n = b + c
    if n < EXACT_BELOW:
        tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
        return McNemarResult(b, c, float(min(b, c)), min(1.0, 2 * tail), "exact")
    statistic = (abs(b - c) - 1) ** 2 / n
    p_value = math.erfc(math.sqrt(statistic / 2))  # chi-square survival function, 1 dof
    return McNemarResult(b, c, statistic, p_value, "chi2")


def paired_bootstrap(
    champion_scores: np.ndarray,
    challenger_scores: np.ndarray,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile CI of mean(challenger - champion) for a continuous per-example metric.

    Resampling examples (not each model separately) keeps the pairing, for the same
    reason as McNemar's test. For a loss, a negative difference favours the challenger.
    """
    diffs = np.subtract(*_paired(challenger_scores, champion_scores), dtype=float)
    means = _resampled_means(diffs, n_resamples, np.random.default_rng(seed))
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return BootstrapResult(float(diffs.mean()), float(low), float(high))


def primary_metric(config: GateConfig, table: MetricTable) -> str:
    """The test metric the gate compares champion and challenger on."""
    return config.primary_metric or f"test_{table.primary.name}"


def decide(
    config: GateConfig,
    table: MetricTable,
    challenger_metrics: dict[str, float],
    challenger_scores: np.ndarray,
    champion_metrics: dict[str, float] | None,
    champion_scores: np.ndarray | None,
) -> GateDecision:
    """Thresholds always; with a champion (`champion_metrics` given), margin and significance.

    `*_scores` are the primary metric's per-example scores on the test set, in one example
    order: booleans (a correct prediction) are compared by McNemar's test, numbers (an error,
    a log-likelihood) by a paired bootstrap. The table says which way each metric is better.
    """
    checks = [_threshold(table, name, bound, challenger_metrics) for name, bound in config.thresholds.items()]
    if champion_metrics is not None:
        checks += _against_champion(config, table, (challenger_metrics, challenger_scores),
                                    (champion_metrics, champion_scores))
    return GateDecision(all(check.passed for check in checks), checks)


def _threshold(table: MetricTable, name: str, bound: float, metrics: dict[str, float]) -> Check:
    if name not in metrics:
        return Check(f"threshold {name}", False, f"challenger has no metric '{name}'", {"bound": bound})
    kind = "minimum" if table.direction(name) == "maximize" else "maximum"
    value = float(metrics[name])
    passed = value >= bound if kind == "minimum" else value <= bound
    sign = {("minimum", True): "≥", ("minimum", False): "<", ("maximum", True): "≤", ("maximum", False): ">"}
    detail = f"{value:.4g} {sign[kind, passed]} {kind} {bound:.4g}"
    return Check(f"threshold {name}", passed, detail, {"value": value, kind: bound})


def _against_champion(config: GateConfig, table: MetricTable, challenger: tuple, champion: tuple) -> list[Check]:
    (new_metrics, new_scores), (old_metrics, old_scores) = challenger, champion
    if old_scores is None or len(old_scores) != len(new_scores):
        sizes = {"challenger_n": len(new_scores), "champion_n": None if old_scores is None else len(old_scores)}
        detail = "champion and challenger were not scored on the same test set; not comparable"
        return [Check("same test set", False, detail, sizes)]
    metric = primary_metric(config, table)
    return [
        _improvement(config, table, metric, new_metrics, old_metrics),
        _significance(config.alpha, table.direction(metric), old_scores, new_scores),
    ]


def _improvement(config: GateConfig, table: MetricTable, metric: str, challenger: dict, champion: dict) -> Check:
    name = f"improvement {metric}"
    if metric not in challenger or metric not in champion:
        return Check(name, False, f"'{metric}' is missing for the challenger or the champion")
    new, old = float(challenger[metric]), float(champion[metric])
    gain = table.gain(metric, new, old)
    passed = gain >= config.min_improvement
    detail = f"{gain:+.4g} {'≥' if passed else '<'} required margin {config.min_improvement:.4g}"
    figures = {"challenger": new, "champion": old, "gain": gain, "min_improvement": config.min_improvement}
    return Check(name, passed, detail, figures)


def _significance(alpha: float, direction: str, champion_scores, challenger_scores) -> Check:
    if np.asarray(challenger_scores).dtype == bool:
        return _mcnemar_check(alpha, champion_scores, challenger_scores)
    return _bootstrap_check(alpha, direction, champion_scores, challenger_scores)


def _mcnemar_check(alpha: float, champion_correct, challenger_correct) -> Check:
    result = mcnemar(champion_correct, challenger_correct)
    better = result.c > result.b
    passed = better and result.p_value < alpha
    if passed:
        detail = "challenger significantly better"
    elif not better:
        detail = "challenger is not better where the two disagree (c ≤ b)"
    else:
        detail = f"difference within noise (p = {result.p_value:.3g} ≥ {alpha:.4g})"
    figures = {"b": result.b, "c": result.c, "p_value": result.p_value, "alpha": alpha,
               "method": result.method}
    return Check("significance (McNemar)", passed, detail, figures)


def _bootstrap_check(alpha: float, direction: str, champion_scores, challenger_scores) -> Check:
    """Better when the (1 - alpha) interval of mean(challenger - champion) excludes zero on the good side."""
    result = paired_bootstrap(champion_scores, challenger_scores, confidence=1 - alpha)
    passed = result.low > 0 if direction == "maximize" else result.high < 0
    if passed:
        detail = "challenger significantly better"
    else:
        detail = f"the {1 - alpha:.0%} interval [{result.low:.4g}, {result.high:.4g}] does not exclude no gain"
    figures = {"mean_diff": result.mean_diff, "low": result.low, "high": result.high, "alpha": alpha}
    return Check("significance (paired bootstrap)", passed, detail, figures)


def _paired(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError(f"paired tests need two non-empty 1-d arrays of one length, "
                         f"got shapes {first.shape} and {second.shape}")
    return first, second


def _resampled_means(diffs: np.ndarray, n_resamples: int, rng, block: int = 1 << 22) -> np.ndarray:
    """Means of `n_resamples` bootstrap samples, drawn in blocks so memory stays bounded."""
    rows = max(1, block // diffs.size)
    means = []
    for start in range(0, n_resamples, rows):
        index = rng.integers(0, diffs.size, size=(min(rows, n_resamples - start), diffs.size))
        means.append(diffs[index].mean(axis=1))
    return np.concatenate(means)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
