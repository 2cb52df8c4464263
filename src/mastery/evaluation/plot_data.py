"""CSV files that `dvc plots` templates read, so runs and experiments can be compared.

Written to `out_dir` (normally `PipelinePaths.plots`):

- `learning_curve.csv`: `epoch`, then every key of the history rows in first-seen order
  (e.g. `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`, `lr`); a value missing
  from a row is left empty. Use with `x: epoch` and the `learning_curves` template
  (`.dvc/plots/learning_curves.json`: train and val loss and accuracy, one line each).
- `confusion.csv`: `actual`, `predicted`, one row per test example, class names as values.
  Use with `x: predicted`, `y: actual` and the `confusion` (or `confusion_normalized`)
  template.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_plot_data(
    out_dir: str | Path,
    history: list[dict],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
) -> list[Path]:
    """Write the learning curve and the per-example confusion data; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(["epoch", *(key for row in history for key in row)]))
    rows = [{"epoch": i + 1} | row for i, row in enumerate(history)]
    names = np.asarray(class_names, dtype=object)
    pairs = zip(names[np.asarray(y_true)], names[np.asarray(y_pred)], strict=True)
    return [
        _write_csv(out_dir / "learning_curve.csv", columns, rows),
        _write_csv(
            out_dir / "confusion.csv",
            ["actual", "predicted"],
            [{"actual": a, "predicted": p} for a, p in pairs],
        ),
    ]


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path
