"""Everything a step needs about one pipeline, loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mastery.config import CandidateSpec, Params, PipelineSpec, load_params, load_spec
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

    @cached_property
    def candidates(self) -> tuple[CandidateSpec, ...]:
        """The declared candidates with what `tune` and `nas` chose applied: what train trains."""
        from mastery.search.results import searched_candidates

        return searched_candidates(self.spec, self.paths)


def load_context(pipeline: str, root: str | Path = ".") -> Context:
    paths = PipelinePaths(pipeline, Path(root).resolve())
    return Context(params=load_params(paths.params), spec=load_spec(paths.spec), paths=paths)
