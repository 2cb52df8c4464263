"""Turn a declared search space into values for one Optuna trial (define-by-run)."""

from __future__ import annotations

from typing import Any

from mastery.config import Distribution


def suggest(trial, space: dict[str, Distribution]) -> dict[str, Any]:
    """Sample every key of `space`; return the dotted ones, the candidate overrides.

    A `per` key becomes a list, one value per unit of its count. A key without a dot is
    such a count only (`blocks`), sampled but not applied. The overrides are also kept on
    the trial, so a finished study yields them back as they are, lists included.
    """
    values: dict[str, Any] = {}
    for key, dist in space.items():
        if dist.per is None:
            values[key] = _suggest_one(trial, key, dist)
        else:
            values[key] = [_suggest_one(trial, f"{key}[{i}]", dist) for i in range(values[dist.per])]
    overrides = {key: value for key, value in values.items() if "." in key}
    trial.set_user_attr("values", overrides)
    return overrides


def _suggest_one(trial, name: str, dist: Distribution) -> Any:
    if dist.choices is not None:
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist.low, int) and isinstance(dist.high, int):
        return trial.suggest_int(name, dist.low, dist.high, step=int(dist.step or 1), log=dist.log)
    return trial.suggest_float(name, float(dist.low), float(dist.high), step=dist.step, log=dist.log)
