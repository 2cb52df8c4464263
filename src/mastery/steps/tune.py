"""Tune: search one candidate's hyperparameters (`tune:` in the spec); train uses the best."""

from __future__ import annotations

from mastery.steps.context import Context


def tune(ctx: Context, workers: int | None = None) -> dict:
    from mastery.search.runner import run_search

    return run_search(ctx, "tune", workers)
