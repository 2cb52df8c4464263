"""The pipeline as data: each step with what it reads and writes.

`dvc.yaml` declares the same deps, params and outs for its stages (a test holds the two
together). Whichever door runs a step records it in `dvc.lock` (`mastery.steps.lockfile`),
so every door skips a step for the same reason: nothing it reads has changed and what it
wrote is still there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mastery
from mastery.errors import MasteryError
from mastery.paths import PipelinePaths
from mastery.steps import lockfile
from mastery.steps.context import Context

CODE = Path(mastery.__file__).parent  # the package paths in `Step.code` are relative to this


@dataclass(frozen=True)
class Step:
    name: str
    module: str  # mastery.steps.<module> holds a function of the same name
    code: tuple[str, ...]  # package paths (under src/mastery) whose change re-runs the step
    params: tuple[str, ...]  # params.yaml keys
    spec: tuple[str, ...]  # pipeline spec keys
    deps: Callable[[PipelinePaths], list[Path]]
    outs: Callable[[PipelinePaths], list[Path]]
    retries: int = 0  # for failures that may not recur (a locked store, a busy disk)
    always_changed: bool = False  # reads live state no file records (the prediction log): never done
    pool: str = "cpu"  # the work pool that runs it: train, tune and nas want the gpu one
    timeout_minutes: float = 60.0

    @property
    def run(self) -> Callable[[Context], dict]:
        module = __import__(f"mastery.steps.{self.module}", fromlist=[self.name])
        return getattr(module, self.name)

    def handed_over(self, paths: PipelinePaths) -> list[Path]:
        """The deps another step makes: what a worker on another machine pulls from the DVC
        remote before running this one (the rest, such as incoming/, is the machine's own)."""
        made = [out for step in STAGES for out in step.outs(paths)]
        return [dep for dep in self.deps(paths) if any(dep == out or out in dep.parents for out in made)]

    def placement(self, ctx: Context) -> tuple[str, float]:
        """(pool, timeout in seconds): the catalog's, overridden in params.yaml; a step that
        wants a pool the deployment has not got runs on cpu."""
        orchestration = ctx.params.orchestration
        override = orchestration.steps.get(self.name)
        pool = (override and override.pool) or self.pool
        timeout = (override and override.timeout_minutes) or self.timeout_minutes
        return (pool if pool in orchestration.pools else "cpu"), timeout * 60

    def stage(self, ctx: Context) -> str:
        return lockfile.stage_address(self.name, ctx.spec.name)

    def is_done(self, ctx: Context) -> bool:
        return not self.always_changed and lockfile.is_done(ctx.paths.root, self.stage(ctx))

    def execute(self, ctx: Context, **kwargs) -> dict:
        """Run the step, then record it in dvc.lock so that every door sees it done (a step that is
        never done has nothing to record)."""
        result = self.run(ctx, **kwargs)
        if not self.always_changed:
            lockfile.record(ctx.paths.root, self.stage(ctx))
        return result


def step_named(name: str) -> Step:
    for step in STAGES:
        if step.name == name:
            return step
    raise MasteryError(f"no step '{name}'; steps: {', '.join(s.name for s in STAGES)}")


STEPS = (
    # the source's content: its code and params, and the new batches under incoming/ (all
    # pipelines' folder: DVC cannot hash a folder that may not exist; a batch for another
    # pipeline re-ingests this one to the same bytes, and nothing after ingest re-runs)
    Step("ingest", "ingest", ("data/sources", "data/raw.py", "data/incoming.py"), ("sources",), ("dataset",),
         deps=lambda p: [p.incoming.parent], outs=lambda p: [p.raw], retries=2),
    Step("validate", "validate", ("validation", "modalities", "offline_assets.py"), (), ("dataset",),
         deps=lambda p: [p.raw], outs=lambda p: [p.validation]),
    Step("prepare", "prepare", ("data/prepare.py", "modalities"), ("seed",), ("split", "tokenizer"),
         deps=lambda p: [p.raw, p.validation], outs=lambda p: [p.prepared]),
    Step("tune", "tune", ("search", "models", "modalities", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune"), deps=lambda p: [p.prepared], outs=lambda p: [p.search("tune")],
         pool="gpu", timeout_minutes=240),
    Step("nas", "nas", ("search", "models", "modalities", "tasks", "training", "evaluation/cost.py"),
         ("seed", "deterministic", "device"), ("task", "train", "nas"),
         deps=lambda p: [p.prepared], outs=lambda p: [p.search("nas")], pool="gpu", timeout_minutes=480),
    Step("train", "train", ("models", "modalities", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune", "nas"),
         deps=lambda p: [p.prepared, p.search("tune"), p.search("nas")], outs=lambda p: [p.models], retries=1,
         pool="gpu", timeout_minutes=480),
    Step("evaluate", "evaluate", ("evaluation", "modalities", "tasks"), (), ("task", "selection_metric", "registered_model"),
         deps=lambda p: [p.prepared, p.models],
         outs=lambda p: [p.reports, p.metrics, p.plots / "learning_curve.csv", p.plots / "figures"],
         retries=2),
    Step("promote", "promote", ("tracking/gate.py", "modalities", "tasks"), (), ("task", "gate"),
         deps=lambda p: [p.prepared, p.model_version], outs=lambda p: [p.promotion], retries=2),
    Step("export", "export", ("export", "modalities", "tasks"), (), ("task", "export"),
         deps=lambda p: [p.prepared, p.promotion], outs=lambda p: [p.exports], retries=2),
)
# The training flow runs STEPS; monitoring is a stage of its own, run on demand (`mastery
# monitor`, the drift flow) or by `dvc repro` for the pipelines params.yaml lists under `monitored`.
MONITOR = Step("monitor", "monitor", ("monitoring", "modalities", "serving"), (), ("monitor",),
               deps=lambda p: [p.prepared, p.exports], outs=lambda p: [p.drift_reports], always_changed=True)
STAGES = (*STEPS, MONITOR)  # every per-pipeline stage of dvc.yaml, in its order
