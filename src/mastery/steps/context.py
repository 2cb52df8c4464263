"""Everything a step needs about one pipeline, loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mastery.config import Params, PipelineSpec, load_params, load_spec
from mastery.data.registry import DatasetInfo, get_dataset
from mastery.paths import PipelinePaths


@dataclass(frozen=True)
class Context:
    params: Params
    spec: PipelineSpec
    paths: PipelinePaths

    @property
    def dataset(self) -> DatasetInfo:
        return get_dataset(self.spec.dataset)


def load_context(pipeline: str, root: str | Path = ".") -> Context:
    root = Path(root).resolve()
    params = load_params(root / "params.yaml")
    spec = load_spec(pipeline, root)
    return Context(params=params, spec=spec, paths=PipelinePaths(spec.name, root))
