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

    @property
    def run(self) -> Callable[[Context], dict]:
        module = __import__(f"mastery.steps.{self.module}", fromlist=[self.name])
        return getattr(module, self.name)

    def stage(self, ctx: Context) -> str:
        return lockfile.stage_address(self.name, ctx.spec.name)

    def is_done(self, ctx: Context) -> bool:
        return lockfile.is_done(ctx.paths.root, self.stage(ctx))

    def execute(self, ctx: Context, **kwargs) -> dict:
        """Run the step, then record it in dvc.lock so that every door sees it done."""
        result = self.run(ctx, **kwargs)
        lockfile.record(ctx.paths.root, self.stage(ctx))
        return result


def step_named(name: str) -> Step:
    for step in STEPS:
        if step.name == name:
            return step
    raise MasteryError(f"no step '{name}'; steps: {', '.join(s.name for s in STEPS)}")


STEPS = (
    Step("ingest", "ingest", ("data/sources", "data/raw.py"), ("sources",), ("dataset",),
         deps=lambda p: [], outs=lambda p: [p.raw], retries=2),
    Step("validate", "validate", ("validation", "modalities", "offline_assets.py"), (), ("dataset",),
         deps=lambda p: [p.raw], outs=lambda p: [p.validation]),
    Step("prepare", "prepare", ("data/prepare.py", "modalities"), ("seed",), ("split", "tokenizer"),
         deps=lambda p: [p.raw, p.validation], outs=lambda p: [p.prepared]),
    Step("tune", "tune", ("search", "models", "modalities", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune"), deps=lambda p: [p.prepared], outs=lambda p: [p.search("tune")]),
    Step("nas", "nas", ("search", "models", "modalities", "tasks", "training", "evaluation/cost.py"),
         ("seed", "deterministic", "device"), ("task", "train", "nas"),
         deps=lambda p: [p.prepared], outs=lambda p: [p.search("nas")]),
    Step("train", "train", ("models", "modalities", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune", "nas"),
         deps=lambda p: [p.prepared, p.search("tune"), p.search("nas")], outs=lambda p: [p.models], retries=1),
    Step("evaluate", "evaluate", ("evaluation", "modalities", "tasks"), (), ("task", "selection_metric", "registered_model"),
         deps=lambda p: [p.prepared, p.models],
         outs=lambda p: [p.reports, p.metrics, p.plots / "learning_curve.csv", p.plots / "figures"],
         retries=2),
    Step("promote", "promote", ("tracking/gate.py", "modalities", "tasks"), (), ("task", "gate"),
         deps=lambda p: [p.prepared, p.model_version], outs=lambda p: [p.promotion], retries=2),
    Step("export", "export", ("export", "modalities", "tasks"), (), ("task", "export"),
         deps=lambda p: [p.prepared, p.promotion], outs=lambda p: [p.exports], retries=2),
)
