"""The prediction log's columns for any examples, so reference and traffic are measured alike.

The server logs, per example, the task's prediction columns and the modality's profile of
what it was sent (`mastery.serving.app`). Here the same served model (the verified ONNX
file, through `ServedModel.run`), the same postprocessing and the same profile function
compute those columns for the reference data and for new files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mastery.errors import MasteryError
from mastery.modalities import get_modality
from mastery.serving.model import ServedModel
from mastery.serving.tasks import TASKS

BATCH = 2048  # examples per model run: bounded memory for a whole split


def observe(model: ServedModel, inputs: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per example: what the server would log for it (less the request keys)."""
    contract = model.contract
    task = TASKS[contract.task]
    profile = get_modality(contract.profile).profile if contract.profile else None
    first = contract.inputs[0].name
    parts = []
    for start in range(0, len(inputs[first]), BATCH):
        chunk = {name: values[start : start + BATCH] for name, values in inputs.items()}
        columns = task.postprocess(contract, chunk, model.run(chunk)).log_columns
        parts.append(pd.DataFrame(columns | (profile(chunk[first]) if profile else {})))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def model_inputs(model: ServedModel, tensors: dict) -> dict[str, np.ndarray]:
    """The contract's inputs from a split's named tensors (what prepare's modality makes of raw
    arrays), in the dtypes a request is converted to."""
    return {spec.name: np.asarray(tensors[spec.name], dtype=spec.dtype) for spec in model.contract.inputs}


def drift_columns(frame: pd.DataFrame, model: ServedModel, chosen: tuple[str, ...] | None) -> dict[str, str]:
    """The columns to compare, each "num" or "cat": the task's prediction columns, and the
    profile columns the modality names in `drift` (else its numeric ones; text columns such
    as shape, dtype and content hash are identities that validation and the request schema
    already pin down). `chosen` (the spec's `monitor.columns`) picks among them."""
    kinds = dict(TASKS[model.contract.task].drift)
    if model.contract.profile:
        modality = get_modality(model.contract.profile)
        profile = modality.profile(model.example_inputs()[model.contract.inputs[0].name])
        numeric = [name for name, values in profile.items() if np.asarray(values).dtype.kind in "iufb"]
        kinds |= {name: "num" for name in getattr(modality, "drift", numeric)}
    kinds = {name: kind for name, kind in kinds.items() if name in frame.columns}
    if chosen is None:
        return kinds
    unknown = [name for name in chosen if name not in kinds]
    if unknown:
        raise MasteryError(f"monitor.columns: {unknown} are not columns monitoring can compare; choose from {sorted(kinds)}")
    return {name: kinds[name] for name in chosen}
