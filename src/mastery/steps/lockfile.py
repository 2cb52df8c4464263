"""One notion of "done" for every door: DVC's lock file.

A step is done when `dvc status` finds nothing it reads changed since `dvc.lock` recorded it
and its outputs intact. `dvc repro` records a stage after running its command; the Prefect
flow and the CLI record what they ran the same way (`dvc commit`), so each door finds the
others' work done and none leaves the others' bookkeeping dirty.
"""

from __future__ import annotations

import os
from pathlib import Path


def stage_address(step: str, pipeline: str) -> str:
    """The DVC stage that runs `step` for `pipeline` (dvc.yaml's foreach stages)."""
    return f"{step}@{pipeline}"


def is_done(root: Path, stage: str) -> bool:
    """True when DVC would skip `stage`: its deps, params and outputs match dvc.lock."""
    if not _is_dvc_project(root):
        return False
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return not repo.status(targets=[stage])


def record(root: Path, stage: str) -> None:
    """Write what `stage` read and wrote into dvc.lock, as `dvc repro` does after a command.

    Nothing to do outside a DVC project, or when DVC itself runs the step (it sets
    `DVC_STAGE` and records the stage once the command exits).
    """
    if os.environ.get("DVC_STAGE") or not _is_dvc_project(root):
        return
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.scm_context.quiet = True  # the git hint is `dvc repro`'s to give
        repo.commit(stage, force=True)


def _is_dvc_project(root: Path) -> bool:
    return (Path(root) / ".dvc").is_dir() and (Path(root) / "dvc.yaml").is_file()
