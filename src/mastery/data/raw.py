"""The raw-data contract between ingest, validation and prepare: named arrays, a modality and a
small header.

The arrays are the source's samples as given, one row each, by name: an image dataset holds
`image` (N, C, H, W) integer pixels and `label`; a text dataset `text` (N,) strings and
`label`; a series `timestamp` and its value columns. `source_split` says, per row, "train" or
"test" where the source ships its own test split, else "train".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from mastery.errors import MasteryError

Modality = Literal["image", "text", "series", "corpus"]
HEADER = "header.json"


class DataSourceError(MasteryError):
    """A source file is missing, truncated or malformed."""


@dataclass
class RawData:
    arrays: dict[str, np.ndarray]
    modality: Modality
    source_split: np.ndarray
    source: str
    declared_rows: int  # rows the source says it holds; a mismatch means truncation
    extra: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def rows(self) -> int:
        return len(self.source_split)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, array in self.arrays.items():
            np.save(directory / f"{name}.npy", array, allow_pickle=False)
        np.save(directory / "source_split.npy", self.source_split.astype("U5"))
        header = {"source": self.source, "modality": self.modality, "declared_rows": self.declared_rows,
                  "arrays": list(self.arrays), **self.extra}
        (directory / HEADER).write_text(json.dumps(header, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> RawData:
        directory = Path(directory)
        if not (directory / HEADER).is_file():
            raise DataSourceError(f"{directory}: no {HEADER}; run `mastery ingest` first")
        try:
            header = json.loads((directory / HEADER).read_text())
            names = header.pop("arrays")
            missing = [f"{n}.npy" for n in [*names, "source_split"] if not (directory / f"{n}.npy").is_file()]
            if missing:
                raise DataSourceError(f"{directory}: missing {', '.join(missing)}; run `mastery ingest` again")
            arrays = {name: np.load(directory / f"{name}.npy", allow_pickle=False) for name in names}
            source_split = np.load(directory / "source_split.npy", allow_pickle=False)
        except (ValueError, OSError, EOFError, KeyError) as error:
            raise DataSourceError(f"{directory}: unreadable raw data ({error})") from error
        return cls(
            arrays=arrays,
            modality=header.pop("modality"),
            source_split=source_split,
            source=header.pop("source"),
            declared_rows=header.pop("declared_rows"),
            extra=header,
        )
