"""Everything a step needs about one pipeline, loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mastery.config import CandidateSpec, ConfigError, Params, PipelineSpec, load_params, load_spec
from mastery.data.registry import DatasetInfo, get_dataset, list_datasets
from mastery.modalities.image import shape_name
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
    def task(self):
        """What the pipeline's models learn, for its dataset's modality."""
        from mastery.tasks import build_task

        return build_task(self.spec.task.name, self.dataset.modality, self.spec.task)

    @cached_property
    def candidates(self) -> tuple[CandidateSpec, ...]:
        """The declared candidates with what `tune` and `nas` chose applied: what train trains."""
        from mastery.search.results import searched_candidates

        return searched_candidates(self.spec, self.paths)


def load_context(pipeline: str, root: str | Path = ".") -> Context:
    paths = PipelinePaths(pipeline, Path(root).resolve())
    ctx = Context(params=load_params(paths.params), spec=load_spec(paths.spec), paths=paths)
    _check_mirrors(ctx)
    _check_anomalies(ctx)
    return ctx


def _check_mirrors(ctx: Context) -> None:
    """A mirrored digit is another digit: flips only where the dataset says labels survive them."""
    if getattr(ctx.dataset, "hflip_safe", True):
        return
    for candidate in ctx.spec.candidates:
        if candidate.train.augmentation.hflip:
            raise ConfigError(f"{ctx.paths.spec}: candidate '{candidate.name}' flips images, but "
                              f"'{ctx.spec.dataset}' is not mirror-safe (a flip changes its labels); "
                              "remove augmentation.hflip")


def _check_anomalies(ctx: Context) -> None:
    """Anomalies are images a reconstruction model can read: a registered dataset of the same shape."""
    name = ctx.spec.task.anomalies
    if name is None:
        return
    where = f"{ctx.paths.spec}: task.anomalies '{name}'"
    if ctx.spec.task.name != "reconstruction":
        raise ConfigError(f"{where}: only a reconstruction task scores anomalies, not '{ctx.spec.task.name}'")
    if name not in list_datasets():
        raise ConfigError(f"{where} is not a registered dataset; datasets: {', '.join(list_datasets())}")
    read, given = _sample_kind(ctx.dataset), _sample_kind(get_dataset(name))
    if given != read:
        raise ConfigError(f"{where}: its samples ({given}) are not what models of '{ctx.spec.dataset}' read ({read})")


def _sample_kind(info: DatasetInfo) -> str:
    return f"{info.modality} {shape_name(info.shape)}" if hasattr(info, "shape") else info.modality
