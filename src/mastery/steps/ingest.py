"""Ingest: copy a dataset from its packaged source into `data/<pipeline>/raw/`."""

from __future__ import annotations

import shutil

from mastery.steps.context import Context


def ingest(ctx: Context) -> dict:
    raw = ctx.dataset.load(ctx.params)
    shutil.rmtree(ctx.paths.raw, ignore_errors=True)
    raw.save(ctx.paths.raw)
    return {"dataset": ctx.spec.dataset, "rows": raw.rows, "source": raw.source, "path": str(ctx.paths.raw)}
