"""Prepare: seeded splits and normalisation statistics under `data/<pipeline>/prepared/`."""

from __future__ import annotations

import shutil

from mastery.data.prepare import write_splits
from mastery.data.raw import RawData
from mastery.steps.context import Context


def prepare(ctx: Context) -> dict:
    raw = RawData.load(ctx.paths.raw)
    shutil.rmtree(ctx.paths.prepared, ignore_errors=True)
    return write_splits(raw, ctx.dataset, ctx.spec, ctx.params.seed, ctx.paths.prepared)
