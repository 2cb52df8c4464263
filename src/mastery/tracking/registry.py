"""Registering models, and loading a registered version back as the eager module it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from mastery.models.artifact import load_trained
from mastery.tracking.lineage import identity

EAGER = "eager"  # run artifact folder: safetensors weights + model.json, what `load_trained` reads


def log_and_register(model: nn.Module, trained_dir: Path, inputs: dict[str, np.ndarray], name: str,
                     tags: dict[str, str], dynamic: dict[str, dict[int, str]] | None = None):
    """Log `model` to the active run and register it as a new version of `name`.

    Two forms are logged: MLflow's own (pt2, with signature and input example: what
    `mlflow models serve` and pyfunc load) and the eager weights (`eager/`), from which
    export and the promotion gate rebuild the exact training-time module. Registration
    happens last, in one call that also sets the tags, so a crash never leaves a
    half-written or untagged version. `inputs` (the model's inputs by name) should hold
    several rows: torch.export specialises a batch of one. `dynamic` names each input's
    dimensions that vary (the task's `dynamic_dims`; the batch by default).
    """
    import mlflow

    mlflow.log_artifacts(str(trained_dir), EAGER)
    info = mlflow.pytorch.log_model(
        model.cpu().eval(),
        name="model",
        # pt2 takes several inputs in order (tokens, lengths; history, future), not by name; one
        # input stays a bare array
        input_example=tuple(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values())),
        signature=_signature(inputs, dynamic or {key: {0: "batch"} for key in inputs}),
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
    )
    return mlflow.register_model(info.model_uri, name, tags=tags)


def _signature(inputs: dict[str, np.ndarray], dynamic: dict[str, dict[int, str]]):
    """Tensor inputs, -1 where a dimension varies: pt2 needs it given for several inputs, and
    traces every -1 as dynamic (a sentence's length as well as the batch). One input stays
    unnamed, so pyfunc takes a bare array (MLflow's torch flavour refuses a dict)."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(inputs=Schema([
        TensorSpec(array.dtype, tuple(-1 if axis in dynamic.get(key, {}) else size for axis, size in enumerate(array.shape)),
                   key if len(inputs) > 1 else None)
        for key, array in inputs.items()]))


def register_unless_known(model: nn.Module, trained_dir: Path, inputs: dict[str, np.ndarray], name: str,
                          tags: dict[str, str], dynamic: dict[str, dict[int, str]] | None = None) -> tuple[object, bool]:
    """(version, reused): the version of `name` with this model's identity, else a new one.

    Equal weights from equal data, params and code are the same model: registering it again
    would only add a duplicate that the gate then has to refuse.
    """
    from mlflow import MlflowClient

    key = identity(tags)
    known = MlflowClient().search_model_versions(f"name='{name}' and tags.identity='{key}'")
    if known:
        return min(known, key=lambda v: int(v.version)), True
    return log_and_register(model, trained_dir, inputs, name, tags | {"identity": key}, dynamic), False


def load_version(name: str, ref: str):
    """(eager model, its meta, the ModelVersion) for `ref`: a version number or an alias."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    version = client.get_model_version(name, ref) if ref.isdigit() else client.get_model_version_by_alias(name, ref)
    local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=EAGER)
    model, meta = load_trained(Path(local))
    return model, meta, version
