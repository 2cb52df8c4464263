"""Dataset registry: what each dataset is, where it comes from, and what valid data looks like.

A dataset declares its modality by its class (`mastery.modalities.image.ImageDataset`, ...),
which decides how validation profiles it, how prepare turns it into tensors and which
inputs a model gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from mastery.config import Params
from mastery.data.raw import Modality, RawData
from mastery.errors import MasteryError

SplitStrategy = Literal["stratified", "grouped", "temporal"]
_DATASETS: dict[str, DatasetInfo] = {}


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about a dataset that loaders, validation suites and models rely on."""

    modality: ClassVar[Modality]
    name: str
    rows: tuple[int, int]  # accepted total row count (inclusive bounds)
    load: Callable[[Params], RawData]
    classes: tuple[str, ...] = ()  # a labelled dataset's class names, by label
    class_fraction: tuple[float, float] | None = None  # accepted share of each class
    split: SplitStrategy = "stratified"  # how prepare splits it unless the spec says

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    if info.name in _DATASETS:
        raise ValueError(f"dataset '{info.name}' is already registered")
    _DATASETS[info.name] = info
    return info


def get_dataset(name: str) -> DatasetInfo:
    _load_sources()
    if name not in _DATASETS:
        raise MasteryError(f"unknown dataset '{name}'; datasets: {', '.join(list_datasets())}")
    return _DATASETS[name]


def list_datasets() -> list[str]:
    _load_sources()
    return sorted(_DATASETS)


def _load_sources() -> None:
    import mastery.data.sources  # noqa: F401  (registers the built-in datasets)
