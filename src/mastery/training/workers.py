"""Side-by-side worker processes (`train --workers`, `tune`/`nas --workers`): spawned, joined,
and never outliving the command that started them.

A spawned process is not told when its parent dies: killed with SIGTERM or SIGKILL, a
`mastery train` would leave its workers training on for hours, writing the checkpoints and
MLflow runs that the rerun resumes from and closes. Each worker therefore watches its parent
and exits once it is gone; its finished work (checkpoints, completed trials) is kept.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence

ORPHANED = 75  # a worker's exit code when its parent died first (EX_TEMPFAIL: run it again)


def run_workers(target: Callable, argses: Sequence[tuple], names: Sequence[str]) -> dict[str, int]:
    """`target(*args)` in one spawned process per `args`, all at once; each exit code by name."""
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_watching_parent, args=(target, os.getpid(), *args), name=name)
                 for args, name in zip(argses, names, strict=True)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return {process.name: process.exitcode for process in processes}


def _watching_parent(target: Callable, parent: int, *args) -> None:
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="parent-watch", daemon=True).start()
    target(*args)


def _exit_when_orphaned(parent: int, every_seconds: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(every_seconds)
    os._exit(ORPHANED)  # now: no cleanup of a half-done epoch or trial is worth running on unwatched
