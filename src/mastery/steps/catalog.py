"""The pipeline as data: each step with what it reads and writes.

`dvc.yaml` declares the same deps, params and outs for its stages (a test holds the two
together), and the Prefect door derives its cache keys from them, so both runners skip a
step for the same reason: nothing it reads has changed and what it wrote is still there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

import mastery
from mastery.paths import PipelinePaths
from mastery.steps.context import Context
from mastery.tracking.lineage import data_hash

CODE = Path(mastery.__file__).parent


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

    def fingerprint(self, ctx: Context) -> str:
        """A hash of everything the step reads: its code, params, spec keys and input files."""
        params = yaml.safe_load(ctx.paths.params.read_text())
        spec = yaml.safe_load(ctx.paths.spec.read_text())
        inputs = {
            "step": self.name,
            "pipeline": ctx.paths.pipeline,
            "code": {c: data_hash(CODE / c) for c in self.code},
            "params": {k: params.get(k) for k in self.params},
            "spec": {k: spec.get(k) for k in self.spec},
            "deps": {str(p.relative_to(ctx.paths.root)): _hash_or_none(p) for p in self.deps(ctx.paths)},
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()

    def outputs_present(self, ctx: Context) -> bool:
        return all(p.exists() for p in self.outs(ctx.paths))


def _hash_or_none(path: Path) -> str | None:
    return data_hash(path) if path.exists() else None


STEPS = (
    Step("ingest", "ingest", ("data/sources.py", "data/raw.py"), ("sources",), ("dataset",),
         deps=lambda p: [], outs=lambda p: [p.raw], retries=2),
    Step("validate", "validate", ("validation",), (), ("dataset",),
         deps=lambda p: [p.raw], outs=lambda p: [p.validation]),
    Step("prepare", "prepare", ("data/prepare.py",), ("seed",), ("split",),
         deps=lambda p: [p.raw, p.validation], outs=lambda p: [p.prepared]),
    Step("tune", "tune", ("search", "models", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune"), deps=lambda p: [p.prepared], outs=lambda p: [p.search("tune")]),
    Step("nas", "nas", ("search", "models", "tasks", "training", "evaluation/cost.py"),
         ("seed", "deterministic", "device"), ("task", "train", "nas"),
         deps=lambda p: [p.prepared], outs=lambda p: [p.search("nas")]),
    Step("train", "train", ("models", "tasks", "training"), ("seed", "deterministic", "device"),
         ("task", "train", "candidates", "tune", "nas"),
         deps=lambda p: [p.prepared, p.search("tune"), p.search("nas")], outs=lambda p: [p.models], retries=1),
    Step("evaluate", "evaluate", ("evaluation",), (), ("selection_metric", "registered_model"),
         deps=lambda p: [p.prepared, p.models],
         outs=lambda p: [p.reports, p.metrics, p.plots / "learning_curve.csv", p.plots / "confusion.csv"],
         retries=2),
    Step("promote", "promote", ("tracking/gate.py",), (), ("gate",),
         deps=lambda p: [p.prepared, p.model_version], outs=lambda p: [p.promotion], retries=2),
    Step("export", "export", ("export",), (), ("export",),
         deps=lambda p: [p.prepared, p.promotion], outs=lambda p: [p.exports], retries=2),
)
