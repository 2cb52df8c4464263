"""Validate: Great Expectations over the raw data; a failure stops the pipeline here."""

from __future__ import annotations

from mastery.data.raw import RawData
from mastery.steps.context import Context
from mastery.validation import validate_raw


def validate(ctx: Context) -> dict:
    raw = RawData.load(ctx.paths.raw)
    return validate_raw(raw, ctx.dataset, ctx.paths.validation)
