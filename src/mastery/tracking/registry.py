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
                     tags: dict[str, str]):
    """Log `model` to the active run and register it as a new version of `name`.

    Two forms are logged: MLflow's own (pt2, with signature and input example: what
    `mlflow models serve` and pyfunc load) and the eager weights (`eager/`), from which
    export and the promotion gate rebuild the exact training-time module. Registration
    happens last, in one call that also sets the tags, so a crash never leaves a
    half-written or untagged version. `inputs` (the model's inputs by name) should hold
    several rows: torch.export specialises a batch of one.
    """
    import mlflow
    from mlflow.models import infer_signature

    mlflow.log_artifacts(str(trained_dir), EAGER)
    info = mlflow.pytorch.log_model(
        model.cpu().eval(),
        name="model",
        # pt2 takes several inputs in order (history, future), not by name, and infers no
        # signature from a tuple: it gets one of named tensors; one input stays a bare array
        input_example=tuple(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values())),
        signature=infer_signature(inputs) if len(inputs) > 1 else None,
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
    )
    return mlflow.register_model(info.model_uri, name, tags=tags)


def register_unless_known(model: nn.Module, trained_dir: Path, inputs: dict[str, np.ndarray], name: str,
                          tags: dict[str, str]) -> tuple[object, bool]:
    """(version, reused): the version of `name` with this model's identity, else a new one.

    Equal weights from equal data, params and code are the same model: registering it again
    would only add a duplicate that the gate then has to refuse.
    """
    from mlflow import MlflowClient

    key = identity(tags)
    known = MlflowClient().search_model_versions(f"name='{name}' and tags.identity='{key}'")
    if known:
        return min(known, key=lambda v: int(v.version)), True
    return log_and_register(model, trained_dir, inputs, name, tags | {"identity": key}), False


def load_version(name: str, ref: str):
    """(eager model, its meta, the ModelVersion) for `ref`: a version number or an alias."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    version = client.get_model_version(name, ref) if ref.isdigit() else client.get_model_version_by_alias(name, ref)
    local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=EAGER)
    model, meta = load_trained(Path(local))
    return model, meta, version
