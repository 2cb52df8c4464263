"""Prepare: seeded splits and normalisation statistics under `data/<pipeline>/prepared/`."""

from __future__ import annotations

import shutil

from mastery.data.prepare import write_splits
from mastery.data.raw import RawData
from mastery.steps.context import Context

SHOWN_CHARS = 200  # a longer value (a tokenizer's JSON) is shown by its size


def prepare(ctx: Context) -> dict:
    """Write the splits and `stats.json`; returns the stats, long values by their size."""
    raw = RawData.load(ctx.paths.raw)
    shutil.rmtree(ctx.paths.prepared, ignore_errors=True)
    stats = write_splits(raw, ctx.dataset, ctx.spec, ctx.params.seed, ctx.paths.prepared)
    return {key: f"<{len(value):,} characters in stats.json>" if isinstance(value, str) and len(value) > SHOWN_CHARS
            else value for key, value in stats.items()}
