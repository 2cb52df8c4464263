"""Data modalities: image, text, series. Everything the spine does differently per kind of
data lives in one module a modality, registered here:

- `content`: the raw array that identifies a sample (what splits group by, what leaks);
- `prepare` / `tensors`: a split written for training, and read back as named tensors;
- `profile`: per-sample columns, computed alike by validation (raw data) and by the server's
  prediction log (what it was sent), so monitoring compares like with like;
- `expectations`: the Great Expectations checks on those columns;
- `input_specs`: the model's inputs in the serving contract;
- `raw_input`: what a server may take instead (texts for token ids), or None.

A new modality is one module with a `Modality` and a line in `_load_modalities`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from mastery.errors import MasteryError


class Modality(Protocol):
    name: str
    content: str

    def prepare(self, raw, indices: dict[str, np.ndarray], info, spec, out: Path) -> dict: ...

    def tensors(self, arrays: dict[str, np.ndarray], stats: dict) -> dict: ...

    def profile(self, values: np.ndarray) -> dict[str, np.ndarray]: ...

    def expectations(self, info) -> list: ...

    def input_specs(self, stats: dict) -> tuple: ...

    def raw_input(self, contract) -> RawInput | None: ...


class RawInput(Protocol):
    """What a server may take instead of the model's inputs (texts for token ids), made into
    them as in training: the contract's, so a served model brings its own preprocessing."""

    name: str  # the request's field
    example: tuple  # one raw example: warm-up, the log's schema

    def field(self, max_batch: int): ...  # its pydantic type

    def max_bytes(self, max_batch: int) -> int: ...  # the body limit

    def problems(self, values) -> list[tuple[int, str]]: ...  # (example, what is wrong) the type lets through

    def encode(self, values) -> dict[str, np.ndarray]: ...


_MODALITIES: dict[str, Modality] = {}


def register_modality(modality: Modality) -> Modality:
    if modality.name in _MODALITIES:
        raise ValueError(f"modality '{modality.name}' is already registered")
    _MODALITIES[modality.name] = modality
    return modality


def get_modality(name: str) -> Modality:
    _load_modalities()
    if name not in _MODALITIES:
        raise MasteryError(f"unknown modality '{name}'; modalities: {', '.join(sorted(_MODALITIES))}")
    return _MODALITIES[name]


def list_modalities() -> list[str]:
    _load_modalities()
    return sorted(_MODALITIES)


def _load_modalities() -> None:
    from mastery.modalities import corpus, image, series, text  # noqa: F401  (each module registers its modality)
