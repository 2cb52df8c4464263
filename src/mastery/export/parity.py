"""Does an exported model still behave like the eager one? Figures first, then a verdict.

Tolerances, and why:
- fp32 ONNX runs the same arithmetic with other kernels and summation orders, so its logits
  match eager to float rounding (about 1e-7 on the MLP and LeNet-5). `FP32_MAX_ABS = 1e-4`
  leaves room for deeper models and other CPUs yet catches any wrong op or weight;
  `FP32_ACCURACY_TOL = 0.001` allows only near-ties flipped by rounding.
- int8 rounds every weight to one of 127 levels, so logits move by 0.1-0.3 on Fashion-MNIST
  models and max-abs says little: it is judged by accuracy, `INT8_ACCURACY_TOL = 0.01`
  (one point), while `INT8_MAX_ABS = 1.0` only catches a broken graph.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mastery.errors import MasteryError

FP32_MAX_ABS, FP32_ACCURACY_TOL = 1e-4, 0.001
INT8_MAX_ABS, INT8_ACCURACY_TOL = 1.0, 0.01


class ParityError(MasteryError):
    """An export that disagrees with its eager model beyond tolerance: do not ship it."""


@dataclass(frozen=True)
class ParityReport:
    name: str
    max_abs_diff: float
    eager_accuracy: float
    export_accuracy: float
    accuracy_delta: float  # export minus eager
    agreement: float  # fraction of samples with the same argmax
    max_abs_tol: float
    accuracy_tol: float

    @property
    def passed(self) -> bool:
        return not self.breaches()

    def breaches(self) -> list[str]:
        """The tolerances broken, with the figures; `not <=` so that NaN fails."""
        broken = []
        if not self.max_abs_diff <= self.max_abs_tol:
            broken.append(f"max |logit diff| {self.max_abs_diff:.3g} > {self.max_abs_tol:.3g}")
        if not abs(self.accuracy_delta) <= self.accuracy_tol:
            broken.append(
                f"accuracy {self.export_accuracy:.4f} vs eager {self.eager_accuracy:.4f} "
                f"(delta {self.accuracy_delta:+.4f}, tolerance {self.accuracy_tol:g})"
            )
        return broken

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check_parity(
    name: str,
    eager_logits: np.ndarray,
    export_logits: np.ndarray,
    labels: np.ndarray,
    max_abs_tol: float = FP32_MAX_ABS,
    accuracy_tol: float = FP32_ACCURACY_TOL,
) -> ParityReport:
    """Compare logits on the same inputs; the defaults are the fp32 tolerances."""
    if eager_logits.shape != export_logits.shape:
        raise ParityError(f"{name}: logits {export_logits.shape}, eager {eager_logits.shape}")
    eager_pred, export_pred = eager_logits.argmax(1), export_logits.argmax(1)
    eager_acc = float(np.mean(eager_pred == labels))
    export_acc = float(np.mean(export_pred == labels))
    return ParityReport(
        name=name,
        max_abs_diff=float(np.max(np.abs(export_logits - eager_logits))),
        eager_accuracy=eager_acc,
        export_accuracy=export_acc,
        accuracy_delta=export_acc - eager_acc,
        agreement=float(np.mean(eager_pred == export_pred)),
        max_abs_tol=max_abs_tol,
        accuracy_tol=accuracy_tol,
    )


def assert_parity(report: ParityReport) -> ParityReport:
    if not report.passed:
        raise ParityError(
            f"{report.name}: export differs from eager: {'; '.join(report.breaches())} "
            f"(argmax agreement {report.agreement:.4f})"
        )
    return report
