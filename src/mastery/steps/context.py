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
    paths = PipelinePaths(pipeline, Path(root).resolve())
    return Context(params=load_params(paths.params), spec=load_spec(paths.spec), paths=paths)
