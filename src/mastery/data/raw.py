"""The raw-data contract between ingest, validation and prepare: arrays plus a small header."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mastery.errors import MasteryError


class DataSourceError(MasteryError):
    """A source file is missing, truncated or malformed."""


@dataclass
class RawData:
    """Samples as the source gives them.

    images: (N, C, H, W) integer pixels; labels: (N,) int64; source_split: (N,) "train" /
    "test" where the source ships its own test split, else all "train".
    """

    images: np.ndarray
    labels: np.ndarray
    source_split: np.ndarray
    source: str
    declared_rows: int  # rows the source says it holds; a mismatch means truncation
    extra: dict = field(default_factory=dict)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "images.npy", self.images)
        np.save(directory / "labels.npy", self.labels)
        np.save(directory / "source_split.npy", self.source_split.astype("U5"))
        header = {"source": self.source, "declared_rows": self.declared_rows, **self.extra}
        (directory / "header.json").write_text(json.dumps(header, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> RawData:
        directory = Path(directory)
        files = ["images.npy", "labels.npy", "source_split.npy", "header.json"]
        missing = [f for f in files if not (directory / f).is_file()]
        if missing:
            raise DataSourceError(
                f"{directory}: missing {', '.join(missing)}; run `mastery ingest` first"
            )
        try:
            arrays = {f: np.load(directory / f, allow_pickle=False) for f in files[:3]}
            header = json.loads((directory / "header.json").read_text())
        except (ValueError, OSError, EOFError) as error:
            raise DataSourceError(f"{directory}: unreadable raw data ({error})") from error
        return cls(
            images=arrays["images.npy"],
            labels=arrays["labels.npy"],
            source_split=arrays["source_split.npy"],
            source=header.pop("source"),
            declared_rows=header.pop("declared_rows"),
            extra=header,
        )
