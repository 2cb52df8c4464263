"""What `dvc plots` shows, written by evaluate for the selected candidate, for any task.

Written to `out_dir` (normally `PipelinePaths.plots`):

- `learning_curve.csv`, in long form: `epoch`, `metric`, `split`, `value`, one row per
  train/val metric per epoch (loss, accuracy, MASE ...). The `learning_curves` template
  (`.dvc/plots/learning_curves.json`) draws one panel per metric with train and val lines,
  whatever metrics the task has; `dvc plots diff` lays experiments over each other.
- `figures/`: the task's test figures (a confusion matrix, ROC curves; a forecast against the
  actual series), which DVC shows as images.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

SPLITS = ("train", "val")


def write_plot_data(out_dir: str | Path, history: list[dict], figures: list[Path]) -> list[Path]:
    """Write the learning curve and copy the figures; return their paths."""
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "figures").mkdir(parents=True)
    rows = [{"epoch": record["epoch"], "metric": metric, "split": split, "value": value}
            for record in history for key, value in record.items()
            for split, _, metric in [key.partition("_")] if split in SPLITS and metric]
    curve = out_dir / "learning_curve.csv"
    with curve.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["epoch", "metric", "split", "value"])
        writer.writeheader()
        writer.writerows(rows)
    return [curve, *(Path(shutil.copy(figure, out_dir / "figures" / figure.name)) for figure in figures)]
