"""Ingest: copy a dataset from its packaged source, and any new batches under `incoming/<pipeline>/`,
into `data/<pipeline>/raw/`."""

from __future__ import annotations

import shutil

from mastery.data.incoming import with_incoming
from mastery.steps.context import Context


def ingest(ctx: Context) -> dict:
    raw = with_incoming(ctx.dataset.load(ctx.params), ctx.paths.incoming)
    shutil.rmtree(ctx.paths.raw, ignore_errors=True)
    raw.save(ctx.paths.raw)
    return {"dataset": ctx.spec.dataset, "rows": raw.rows, "source": raw.source, "path": str(ctx.paths.raw),
            "incoming_rows": raw.extra.get("incoming_rows", 0)}
