"""Where each step reads and writes, so DVC stages, flows and the CLI agree on stable paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PipelinePaths:
    pipeline: str
    root: Path = Path(".")

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def spec(self) -> Path:
        return self.root / "pipelines" / f"{self.pipeline}.yaml"

    @property
    def raw(self) -> Path:
        return self.root / "data" / self.pipeline / "raw"

    @property
    def incoming(self) -> Path:
        """New labelled batches for this pipeline (`mastery.data.incoming`): ingest appends them."""
        return self.root / "incoming" / self.pipeline

    @property
    def prepared(self) -> Path:
        return self.root / "data" / self.pipeline / "prepared"

    @property
    def validation(self) -> Path:
        """GX result JSON and data docs."""
        return self.root / "reports" / "validation" / self.pipeline

    def search(self, kind: str) -> Path:
        """What a search (`tune` or `nas`) hands to train: the chosen configuration and its record."""
        return self.root / "search" / self.pipeline / kind

    @property
    def studies(self) -> Path:
        """Optuna's study databases: the search's memory, kept out of DVC so a killed search resumes."""
        return self.root / "studies"

    @property
    def models(self) -> Path:
        return self.root / "models" / self.pipeline

    def candidate(self, name: str) -> Path:
        return self.models / name

    def checkpoints(self, candidate: str) -> Path:
        """Per-epoch training state: outside DVC's outputs, so a killed `dvc repro` can resume."""
        return self.root / "checkpoints" / self.pipeline / candidate

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.pipeline

    @property
    def model_version(self) -> Path:
        """The version `evaluate` registered: the challenger `promote` judges."""
        return self.reports / "model_version.json"

    @property
    def promotion(self) -> Path:
        """The gate's decision, with every check and its figures."""
        return self.root / "reports" / "promotion" / f"{self.pipeline}.json"

    @property
    def transfer(self) -> Path:
        """The transfer-learning comparison (table, JSON, plot) and its target data's validation."""
        return self.root / "reports" / "transfer" / self.pipeline

    @property
    def exports(self) -> Path:
        """ONNX files of the champion and their parity report."""
        return self.root / "exports" / self.pipeline

    @property
    def monitoring(self) -> Path:
        """What serving saw: runtime state, not a pipeline output (outside DVC)."""
        return self.root / "monitoring" / self.pipeline

    @property
    def prediction_log(self) -> Path:
        """One row per served example (`mastery.serving.prediction_log`)."""
        return self.monitoring / "predictions.sqlite"

    @property
    def drift_reports(self) -> Path:
        """What `mastery monitor` writes: the Evidently report (HTML, JSON) and the verdict."""
        return self.root / "reports" / "monitoring" / self.pipeline

    @property
    def metrics(self) -> Path:
        return self.root / "metrics" / f"{self.pipeline}.json"

    @property
    def plots(self) -> Path:
        """Plot data (CSV) for `dvc plots`."""
        return self.root / "plots" / self.pipeline
