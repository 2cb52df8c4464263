"""NAS: search architectures of a family for accuracy, size and latency (`nas:` in the spec);
the chosen one joins the candidates train trains."""

from __future__ import annotations

from mastery.steps.context import Context


def nas(ctx: Context, workers: int | None = None) -> dict:
    from mastery.search.runner import run_search

    return run_search(ctx, "nas", workers)
