"""The prediction log: one row per served example, in SQLite under `monitoring/<pipeline>/`.

Each request's rows are one transaction, committed before the response is sent, so every
answered request is in the log. WAL journaling with `synchronous=NORMAL` survives a killed
process without losing a committed row or corrupting the file (an OS crash or power cut may
lose the last few commits, never the file's integrity), and lets monitoring read while the
server writes. Columns: when, which request and example, which model version, what the
task predicted (`mastery.serving.tasks`), and the per-sample profile validation uses
(`mastery.validation.profile`), so drift monitoring compares like with like.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mastery.errors import MasteryError

TABLE = "predictions"
KEYS = {"timestamp": "TEXT", "request_id": "TEXT", "example": "INTEGER", "model": "TEXT", "model_version": "TEXT"}


class PredictionLog:
    """Append-only writer, shared by the server's threads (one connection behind a lock)."""

    def __init__(self, path: Path, columns: dict[str, str]):
        """`columns`: the task and profile columns after the keys, name -> SQLite type
        (`column_types` gives them from a sample of each)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns = {**KEYS, **columns}
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")  # a reader's checkpoint may hold the lock briefly
        self._create_or_check()
        names = ", ".join(f'"{c}"' for c in self.columns)
        self._insert = f"INSERT INTO {TABLE} ({names}) VALUES ({', '.join('?' * len(self.columns))})"
        self._lock = threading.Lock()

    def append(self, request_id: str, model: str, version: str, columns: dict[str, np.ndarray]) -> None:
        """One request's examples, committed together before this returns."""
        values = [np.asarray(columns[name]).tolist() for name in list(self.columns)[len(KEYS):]]
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        rows = [(stamp, request_id, i, model, version, *row) for i, row in enumerate(zip(*values))]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(self._insert, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _create_or_check(self) -> None:
        found = [row[1] for row in self._db.execute(f"PRAGMA table_info({TABLE})")]
        if not found:
            body = ", ".join(f'"{name}" {kind}' for name, kind in self.columns.items())
            self._db.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, {body})")
            self._db.execute(f"CREATE INDEX {TABLE}_request ON {TABLE} (request_id)")
        elif found[1:] != list(self.columns):
            raise MasteryError(
                f"{self.path}: the log's columns {found[1:]} differ from this model's {list(self.columns)}; "
                "move the old log aside to start a new one"
            )


def column_types(columns: dict[str, np.ndarray]) -> dict[str, str]:
    """SQLite types for columns of values: integers and booleans, reals, and text."""
    kinds = {"i": "INTEGER", "u": "INTEGER", "b": "INTEGER", "f": "REAL"}
    return {name: kinds.get(np.asarray(values).dtype.kind, "TEXT") for name, values in columns.items()}


def find_request(path: Path, request_id: str) -> list[dict]:
    """The logged rows of one request, in example order (read-only: safe beside a running server)."""
    if not Path(path).is_file():
        raise MasteryError(f"no prediction log at {path}: has `mastery serve` answered a request here?")
    with closing(sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(f"SELECT * FROM {TABLE} WHERE request_id = ? ORDER BY example", (request_id,))
        found = [dict(row) for row in rows]
    if not found:
        raise MasteryError(f"request {request_id} is not in {path}")
    return found


def request_summary(path: Path, request_id: str) -> dict:
    """What `mastery lineage --request` starts from: when, which version answered, what it said."""
    rows = find_request(path, request_id)
    first = rows[0]
    predicted = [row.get("predicted_label", row.get("predicted_class")) for row in rows]
    return {"request_id": request_id, "served_at": first["timestamp"], "model": first["model"],
            "model_version": first["model_version"], "examples": len(rows), "predicted": predicted}
