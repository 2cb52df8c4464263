"""Registering models: the artefact is complete before a version points at it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def log_and_register(model: nn.Module, input_example: np.ndarray, name: str, tags: dict[str, str]):
    """Log `model` to the active run with signature and input example, then register it.

    The input example should hold several rows: torch.export specialises a batch of one.

    Registration happens only after the artefact is fully written, in one call that also
    sets the version's tags, so a crash never leaves a half-written or untagged version.
    """
    import mlflow

    model = model.cpu().eval()
    info = mlflow.pytorch.log_model(
        model,
        name="model",
        input_example=input_example,
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy"],
    )
    return mlflow.register_model(info.model_uri, name, tags=tags)
