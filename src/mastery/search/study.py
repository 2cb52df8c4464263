"""Optuna studies that survive kills and share work between processes.

A study lives in an RDB (SQLite under `studies/` by default; any SQLAlchemy URL, e.g.
PostgreSQL for workers on many machines). Workers send heartbeats; a trial whose worker
died is failed once its heartbeat is `grace_seconds` old and re-queued with the same
parameters. Its name carries a hash of what defines the search (space, recipe, data, seed),
so re-running the same search resumes it and a changed search starts afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mastery.config import SearchConfig
from mastery.steps.context import Context

STORAGE_ENV = "MASTERY_STUDY_STORAGE"  # wins over the spec: credentials stay out of YAML


def storage_url(ctx: Context, config: SearchConfig) -> str:
    url = os.environ.get(STORAGE_ENV) or config.storage
    if url:
        return url
    ctx.paths.studies.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{ctx.paths.studies / f'{ctx.paths.pipeline}.db'}"


def open_storage(ctx: Context, config: SearchConfig, on_stale_trial: Callable | None = None):
    """The study's RDB with heartbeats; a stale trial is passed to `on_stale_trial`, then re-queued."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    retry = RetryHeartbeatStaleTrialCallback(max_retry=config.max_retries)

    def failed(study, trial) -> None:
        if on_stale_trial:
            on_stale_trial(trial)
        retry(study, trial)

    url = storage_url(ctx, config)
    # SQLite serialises writers; a generous busy timeout turns lock contention into waiting
    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None
    return optuna.storages.RDBStorage(
        url,
        engine_kwargs=engine,
        heartbeat_interval=config.heartbeat_seconds,
        grace_period=config.grace_seconds,
        heartbeat_stale_trial_callback=failed,
    )


def redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def study_name(pipeline: str, kind: str, identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return f"{pipeline}-{kind}-{digest[:10]}"


def trial_counts(study) -> Counter:
    return Counter(t.state.name for t in study.get_trials(deepcopy=False))


def finished(study) -> int:
    counts = trial_counts(study)
    return counts["COMPLETE"] + counts["PRUNED"]


def budget_left(study, trials: int) -> bool:
    """Another trial may start: a re-queued one is waiting, or started ones are below budget."""
    counts = trial_counts(study)
    if counts["WAITING"]:
        return True
    return counts["COMPLETE"] + counts["PRUNED"] + counts["RUNNING"] < trials


def trial_claim(ctx: Context, config: SearchConfig, study: str):
    """What makes the budget check and the trial's creation one step for all workers: a file
    lock on one machine (SQLite), a PostgreSQL advisory lock across machines."""
    url = storage_url(ctx, config)
    if url.startswith("postgresql"):
        return DatabaseClaim(url, study)
    return FileClaim(ctx.paths.studies / f"{study}.lock")


class FileClaim:
    """A file lock held from the budget check until Optuna has created the trial.

    Without it two workers can both see one trial left and both start one. It covers the
    workers of one machine; `DatabaseClaim` those of many.
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a")  # noqa: SIM115 - held for the worker's lifetime
        self._held = False

    def acquire(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)
        self._held = True

    def release(self) -> None:
        if self._held:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._held = False

    def close(self) -> None:
        self.release()
        self._file.close()


class DatabaseClaim:
    """The same claim as a PostgreSQL session advisory lock keyed by the study: workers on any
    machine wait for it, and the server lets it go if its holder dies (a killed worker never
    leaves it held)."""

    def __init__(self, url: str, study: str):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self._engine = create_engine(url, poolclass=NullPool)  # one connection, this claim's own
        self._connection = self._engine.connect()
        self._key = int(hashlib.sha256(study.encode()).hexdigest()[:15], 16)  # fits a signed bigint
        self._held = False

    def acquire(self) -> None:
        self._execute("SELECT pg_advisory_lock(:key)")
        self._held = True

    def release(self) -> None:
        if self._held:
            self._execute("SELECT pg_advisory_unlock(:key)")
            self._held = False

    def close(self) -> None:
        self.release()
        self._connection.close()
        self._engine.dispose()

    def _execute(self, sql: str) -> None:
        from sqlalchemy import text

        self._connection.execute(text(sql), {"key": self._key})
        self._connection.commit()
