"""Classification scores as plain JSON, so metrics files, MLflow and the gate read one dict.

Macro averages (precision, recall, F1, one-vs-rest ROC AUC) run over the classes present
in `y_true`: a class with no test examples has no recall or AUC, and averaging in a made-up
zero would punish the model for the test set's gaps. Such classes are listed under
`absent_classes`, their per-class scores are `None`, and the confusion matrix still shows
any predictions of them (they cost accuracy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_ABSENT = {"precision": None, "recall": None, "f1": None, "support": 0, "roc_auc": None}


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str]
) -> dict:
    """Accuracy, macro scores, per-class scores and the confusion matrix of softmax `probs`."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, probs = _checked(y_true, probs, class_names)
    y_pred = probs.argmax(axis=1)
    present = np.unique(y_true)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=present, zero_division=0
    )
    auc = _roc_auc_per_class(y_true, probs, present)
    per_class = {name: dict(_ABSENT) for name in class_names}
    for i, k in enumerate(present):
        per_class[class_names[k]] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "roc_auc": auc[i],
        }
    return {
        "n_samples": len(y_true),
        "accuracy": float((y_pred == y_true).mean()),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "roc_auc_ovr": None if None in auc else float(np.mean(auc)),
        "absent_classes": [name for name in class_names if per_class[name]["support"] == 0],
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(
            y_true, y_pred, labels=np.arange(len(class_names))
        ).tolist(),
    }


def flat_metrics(metrics: dict, prefix: str = "test_", per_class: bool = True) -> dict[str, float]:
    """The scalar scores of `classification_metrics`, keyed for MLflow and `dvc metrics`.

    `per_class=False` keeps the headline scores only (a readable `dvc metrics show`).
    """
    keys = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_ovr")
    flat = {f"{prefix}{key}": float(metrics[key]) for key in keys if metrics[key] is not None}
    if not per_class:
        return flat
    for name, scores in metrics["per_class"].items():
        key = f"{prefix}f1/{metric_key(name)}"  # a section of its own in MLflow
        if key in flat:
            raise ValueError(f"class {name!r} collides with another class as metric {key!r}")
        if scores["f1"] is not None:
            flat[key] = float(scores["f1"])
    return flat


def metric_key(name: str) -> str:
    """`T-shirt/top` -> `t_shirt_top`: safe as an MLflow metric name and a JSON key."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _checked(
    y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    y_true, probs = np.asarray(y_true).astype(int), np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape != (len(y_true), len(class_names)):
        raise ValueError(
            f"probs must be (N, K) = ({len(y_true)}, {len(class_names)}), got {probs.shape}"
        )
    if len(y_true) == 0 or y_true.min() < 0 or y_true.max() >= len(class_names):
        raise ValueError(f"y_true must be non-empty labels in [0, {len(class_names)})")
    return y_true, probs


def _roc_auc_per_class(y_true: np.ndarray, probs: np.ndarray, present: np.ndarray) -> list:
    """One-vs-rest AUC of each present class; `None` when there is no 'rest' to rank against."""
    from sklearn.metrics import roc_auc_score

    if len(present) < 2:
        return [None] * len(present)
    return [float(roc_auc_score(y_true == k, probs[:, k])) for k in present]
