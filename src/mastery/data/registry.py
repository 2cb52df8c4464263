"""Dataset registry: what each dataset is, where it comes from, and what valid data looks like."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mastery.config import Params
from mastery.data.raw import RawData

_DATASETS: dict[str, DatasetInfo] = {}


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about a dataset that loaders, validation suites and models rely on."""

    name: str
    shape: tuple[int, int, int]  # (C, H, W) of one sample
    classes: tuple[str, ...]
    pixel_max: int  # raw pixels are integers in [0, pixel_max]
    rows: tuple[int, int]  # accepted total row count (inclusive bounds)
    class_fraction: tuple[float, float]  # accepted share of each class (inclusive bounds)
    hflip_safe: bool  # does a mirror image keep its label?
    load: Callable[[Params], RawData]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    if info.name in _DATASETS:
        raise ValueError(f"dataset '{info.name}' is already registered")
    _DATASETS[info.name] = info
    return info


def get_dataset(name: str) -> DatasetInfo:
    import mastery.data.sources  # noqa: F401  (registers the built-in datasets)

    if name not in _DATASETS:
        raise KeyError(f"unknown dataset '{name}'; known: {sorted(_DATASETS)}")
    return _DATASETS[name]


def list_datasets() -> list[str]:
    import mastery.data.sources  # noqa: F401

    return sorted(_DATASETS)
