"""Steps on other machines hand their data over through the DVC remote.

A worker runs one step in its own clone: it takes the pipeline's `dvc.lock` as the run has
it so far (what every earlier step recorded), pulls the step's inputs (and its outputs, in
case another machine made them already, so a done step stays done), runs it, pushes what it
wrote and hands the updated `dvc.lock` on. The catalog lists each step's deps and outs;
nothing but the repository, the remote and the servers is shared.
"""

from __future__ import annotations

from pathlib import Path

LOCK = "dvc.lock"


def receive(root: Path, lock: str | None, deps: list[Path], outs: list[Path]) -> None:
    """Adopt the run's lock, then fetch the step's inputs (required) and outputs (if any)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    if lock is not None:
        (Path(root) / LOCK).write_text(lock)
    with Repo(str(root)) as repo:
        if deps:
            repo.pull(targets=[str(p) for p in deps])
        for out in outs:
            try:
                repo.pull(targets=[str(out)])
            except DvcException:  # not made yet, or made with other inputs: the step will run
                pass


def send(root: Path, outs: list[Path]) -> str:
    """Push what the step wrote; the lock that now records it, for the next step."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.push(targets=[str(p) for p in outs if p.exists()])
    return (Path(root) / LOCK).read_text()
