"""Where each step reads and writes, so DVC stages, flows and the CLI agree on stable paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PipelinePaths:
    pipeline: str
    root: Path = Path(".")

    @property
    def raw(self) -> Path:
        return self.root / "data" / self.pipeline / "raw"

    @property
    def prepared(self) -> Path:
        return self.root / "data" / self.pipeline / "prepared"

    @property
    def validation(self) -> Path:
        """GX result JSON and data docs."""
        return self.root / "reports" / "validation" / self.pipeline

    @property
    def models(self) -> Path:
        return self.root / "models" / self.pipeline

    def candidate(self, name: str) -> Path:
        return self.models / name

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.pipeline

    @property
    def metrics(self) -> Path:
        return self.root / "metrics" / f"{self.pipeline}.json"

    @property
    def plots(self) -> Path:
        """Plot data (CSV) for `dvc plots`."""
        return self.root / "plots" / self.pipeline
