"""Drift monitoring: what the champion sees now against what it was built on.

- `observe`: the columns the server's prediction log holds (the modality's per-sample profile
  and the task's predictions), computed for any examples by the served ONNX model itself;
- `tables`: the reference (the prepared held-out splits, observed) and the current data (the
  prediction log since a time, or a batch of new files, observed alike);
- `drift`: the Evidently report over both, and the verdict naming the drifted columns.

`mastery.steps.monitor` puts them together; `flows/monitoring.py` retrains on drift.
"""
