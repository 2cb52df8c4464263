"""The two tables a drift report compares: the reference and the current data.

The reference is the prepared **held-out** splits (validation and test), observed through the
champion. Not the training split: a model is more confident on the examples it was fitted to,
so its predictions there differ from its predictions on any fresh same-distribution traffic,
and a reference made of them reports confidence drift that is not there (measured in
benchmarks/RESULTS.md). The profile columns would not care; one reference serves both.

The current data is either the prediction log (the rows one model version answered, since a
time) or a batch of new files, observed like the reference.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from mastery.data.incoming import read_batch
from mastery.data.prepare import PreparedData
from mastery.errors import MasteryError
from mastery.modalities import get_modality
from mastery.monitoring.observe import model_inputs, observe
from mastery.serving.model import ServedModel
from mastery.serving.prediction_log import TABLE

HELD_OUT = ("val", "test")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Current:
    frame: pd.DataFrame
    source: str  # where the rows came from, in words
    window: dict  # what selected them: log path, version, since, first and last timestamps, or files


def reference_table(model: ServedModel, prepared: Path) -> pd.DataFrame:
    """The held-out splits of `data/<pipeline>/prepared`, observed through `model`."""
    data = PreparedData.load(prepared, splits=HELD_OUT)
    frames = [observe(model, model_inputs(model, data.splits[name])) for name in HELD_OUT]
    return pd.concat(frames, ignore_index=True)


def cached_reference(model: ServedModel, prepared: Path, data: str, cache: Path) -> tuple[pd.DataFrame, bool]:
    """`reference_table`, kept in `cache` (Parquet) for the same model file, prepared data and
    logged columns (a newer mastery may log more): observing 16,000 images costs seconds that
    every check would pay again. (frame, from cache)"""
    key = f"{model.sha256}:{data}:{','.join(observe(model, model.example_inputs()).columns)}"
    table, stamp = cache / "reference.parquet", cache / "reference.key"
    if table.is_file() and stamp.is_file() and stamp.read_text() == key:
        return pd.read_parquet(table), True
    frame = reference_table(model, prepared)
    cache.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(table)
    stamp.write_text(key)
    return frame, False


def log_rows(path: Path, version: str, since: str | None = None) -> Current:
    """The rows of the prediction log that `version` answered, from `since` on (read-only: safe
    beside a running server). `since`: an ISO time (UTC unless it says) or a span back from now,
    such as `30m`, `6h`, `7d`."""
    if not Path(path).is_file():
        raise MasteryError(f"no prediction log at {path}: has `mastery serve` answered a request?")
    start = parse_since(since) if since else None
    query = f"SELECT * FROM {TABLE} WHERE model_version = ?" + (" AND timestamp >= ?" if start else "") + " ORDER BY id"
    with closing(sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)) as db:
        frame = pd.read_sql_query(query, db, params=(version, start) if start else (version,))
        others = db.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE model_version != ?" + (" AND timestamp >= ?" if start else ""),
                            (version, start) if start else (version,)).fetchone()[0]
    window = {"log": str(path), "version": version, "since": start, "rows": len(frame), "other_versions_rows": others,
              "first": frame["timestamp"].iloc[0] if len(frame) else None,
              "last": frame["timestamp"].iloc[-1] if len(frame) else None}
    return Current(frame, f"prediction log, v{version}" + (f", since {start}" if start else ""), window)


def file_rows(model: ServedModel, files: list[Path], prepared: Path) -> Current:
    """Batches of new files (`.npz`, the dataset's raw arrays: `mastery.data.incoming`), turned
    into model inputs as prepare turns the source's rows, then observed."""
    stats = PreparedData.load(prepared, splits=()).stats
    modality = get_modality(stats["modality"])
    frames = []
    for path in map(Path, files):
        arrays = read_batch(path)
        if modality.content not in arrays:
            raise MasteryError(f"{path}: no '{modality.content}' array; a batch holds the dataset's raw arrays")
        rows = len(arrays[modality.content])
        arrays.setdefault("label", np.zeros(rows, dtype=np.int64))  # traffic has none; inputs do not need it
        arrays.pop("source_split", None)
        frames.append(observe(model, model_inputs(model, modality.tensors(arrays, stats))))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Current(frame, f"{len(frames)} file(s)", {"files": [str(f) for f in files], "rows": len(frame)})


def parse_since(since: str) -> str:
    """An ISO timestamp in the log's form (UTC, milliseconds) for `since` (ISO, or `<n>[smhd]` ago)."""
    if match := _DURATION.match(since.strip()):
        moment = datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: float(match[1])})
    else:
        try:
            moment = datetime.fromisoformat(since.strip())
        except ValueError:
            raise MasteryError(f"--since {since!r}: give an ISO time (2026-12-01T09:00) or a span such as 30m, 6h, 7d") from None
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")
