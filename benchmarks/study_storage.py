"""Which local study storage holds under parallel workers: SQLite (RDB) or Optuna's journal file.

N worker processes share one study and each runs trials of a trivial objective (so the
storage, not training, is the bottleneck) until the study has `--trials` trials. Reported
per storage: trials finished, worker errors (e.g. "database is locked"), duplicate trial
numbers, and finished trials per second. The storage `mastery tune` uses by default is
SQLite with a 120 s busy timeout, because only RDB storages have the heartbeats that fail
and retry the trials of a killed worker.

    python benchmarks/study_storage.py --workers 8 --trials 400
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path


def storage(kind: str, path: Path):
    import optuna

    if kind == "sqlite":
        return optuna.storages.RDBStorage(f"sqlite:///{path / 'study.db'}", engine_kwargs={"connect_args": {"timeout": 120}})
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path / "study.log")))


def worker(kind: str, path: str, trials: int, errors) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="bench", storage=storage(kind, Path(path)))
    try:
        study.optimize(lambda t: t.suggest_float("x", -10, 10) ** 2,
                       callbacks=[optuna.study.MaxTrialsCallback(trials)])
    except Exception as error:  # noqa: BLE001 - the error is the measurement
        errors.put(repr(error)[:120])


def run(kind: str, workers: int, trials: int) -> dict:
    import optuna

    with tempfile.TemporaryDirectory() as tmp:
        optuna.create_study(study_name="bench", storage=storage(kind, Path(tmp)))
        errors = multiprocessing.get_context("spawn").Queue()
        spawn = multiprocessing.get_context("spawn")
        processes = [spawn.Process(target=worker, args=(kind, tmp, trials, errors)) for _ in range(workers)]
        started = time.perf_counter()
        for p in processes:
            p.start()
        for p in processes:
            p.join()
        seconds = time.perf_counter() - started
        study = optuna.load_study(study_name="bench", storage=storage(kind, Path(tmp)))
        numbers = Counter(t.number for t in study.trials)
        finished = sum(t.state.name == "COMPLETE" for t in study.trials)
        failures = []
        while not errors.empty():
            failures.append(errors.get())
    return {"finished": finished, "duplicates": sum(c > 1 for c in numbers.values()), "errors": failures,
            "per_second": finished / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.workers} workers, {args.trials} trials")
    for kind in ("sqlite", "journal"):
        result = run(kind, args.workers, args.trials)
        print(f"{kind:<8} finished {result['finished']:>5}  duplicates {result['duplicates']}  "
              f"errors {len(result['errors'])}  {result['per_second']:.1f} trials/s  {result['errors'][:2]}")


if __name__ == "__main__":
    main()
