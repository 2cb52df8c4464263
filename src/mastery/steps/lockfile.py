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
    if not _is_dvc_stage(root, stage):
        return False
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return not repo.status(targets=[stage])


def record(root: Path, stage: str) -> None:
    """Write what `stage` read and wrote into dvc.lock, as `dvc repro` does after a command.

    Nothing to do outside a DVC project, for a pipeline DVC does not run (an opt-in one left
    out of params.yaml's `pipelines`), or when DVC itself runs the step (it sets `DVC_STAGE`
    and records the stage once the command exits).
    """
    if os.environ.get("DVC_STAGE") or not _is_dvc_stage(root, stage):
        return
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.scm_context.quiet = True  # the git hint is `dvc repro`'s to give
        repo.commit(stage, force=True)


def _is_dvc_stage(root: Path, stage: str) -> bool:
    """Whether `stage` is one of dvc.yaml's: its foreach stages run the pipelines params.yaml lists."""
    if not ((Path(root) / ".dvc").is_dir() and (Path(root) / "dvc.yaml").is_file()):
        return False
    import yaml

    pipelines = yaml.safe_load((Path(root) / "params.yaml").read_text()).get("pipelines") or []
    return stage.partition("@")[2] in pipelines
