"""Does an exported model still behave like the eager one? Figures first, then a verdict.

The tolerances come from the spec's `export` section (`ExportConfig`, where their reasons are
written): a bound on the largest output difference, and one on how far the task's primary
test metric may move when computed from the export's outputs instead of the eager model's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mastery.errors import MasteryError


class ParityError(MasteryError):
    """An export that disagrees with its eager model beyond tolerance: do not ship it."""


@dataclass(frozen=True)
class ParityReport:
    name: str
    metric: str  # the task's primary test metric
    max_abs_diff: float
    eager_value: float
    export_value: float
    metric_delta: float  # export minus eager
    max_abs_tol: float
    metric_tol: float

    @property
    def passed(self) -> bool:
        return not self.breaches()

    def breaches(self) -> list[str]:
        """The tolerances broken, with the figures; `not <=` so that NaN fails."""
        broken = []
        if not self.max_abs_diff <= self.max_abs_tol:
            broken.append(f"max |output diff| {self.max_abs_diff:.3g} > {self.max_abs_tol:.3g}")
        if not abs(self.metric_delta) <= self.metric_tol:
            broken.append(
                f"{self.metric} {self.export_value:.4f} vs eager {self.eager_value:.4f} "
                f"(delta {self.metric_delta:+.4f}, tolerance {self.metric_tol:g})"
            )
        return broken

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check_parity(name: str, metric: str, eager: np.ndarray, exported: np.ndarray, eager_value: float,
                 export_value: float, max_abs_tol: float, metric_tol: float) -> ParityReport:
    """Compare two models' outputs on the same inputs, and the metric each gives."""
    if eager.shape != exported.shape:
        raise ParityError(f"{name}: outputs {exported.shape}, eager {eager.shape}")
    return ParityReport(name=name, metric=metric, max_abs_diff=float(np.max(np.abs(exported - eager))),
                        eager_value=eager_value, export_value=export_value, metric_delta=export_value - eager_value,
                        max_abs_tol=max_abs_tol, metric_tol=metric_tol)


def measure_parity(name: str, model, task, split: dict, stats: dict, session,
                   max_abs_tol: float, metric_tol: float) -> ParityReport:
    """An ONNX session against its eager model on every example of `split`: the outputs, and
    the task's primary test metric computed from each. Both read the batches the task feeds a
    model (`eval_batches`), so a task that corrupts its inputs (denoising) compares like with like."""
    import torch

    from mastery.training.inference import predict

    eager = predict(model, task, split)
    exported = torch.cat([_onnx_outputs(session, task, batch) for batch in task.eval_batches(split, 1024)])
    metric = f"test_{task.metrics.primary.name}"
    values = [task.score(outputs, split, stats).flat()[metric] for outputs in (eager, exported)]
    return check_parity(name, metric, eager.numpy(), exported.numpy(), *values, max_abs_tol, metric_tol)


def _onnx_outputs(session, task, batch: dict):
    import torch

    from mastery.export.onnx_export import onnx_predict

    inputs = {key: x.numpy() for key, x in zip(task.inputs, task.model_inputs(batch), strict=True)}
    return torch.from_numpy(onnx_predict(session, inputs))


def assert_parity(report: ParityReport) -> ParityReport:
    if not report.passed:
        raise ParityError(f"{report.name}: export differs from eager: {'; '.join(report.breaches())}")
    return report
