"""A trained model on disk: safetensors weights plus the JSON needed to rebuild it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from mastery.errors import MasteryError
from mastery.models.registry import build_model
from mastery.models.standardize import with_standardization

WEIGHTS, META = "model.safetensors", "model.json"


def build_classifier(meta: dict) -> nn.Module:
    """The registered family behind an input-standardisation layer, as described by `meta`."""
    net = build_model(meta["family"], in_shape=meta["in_shape"], num_classes=len(meta["classes"]), **meta["params"])
    return with_standardization(net, meta["mean"], meta["std"])


def save_trained(directory: Path, model: nn.Module, meta: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory / WEIGHTS, model.state_dict())
    (directory / META).write_text(json.dumps(meta, indent=2) + "\n")


def load_trained(directory: Path) -> tuple[nn.Module, dict]:
    directory = Path(directory)
    if not (directory / META).is_file():
        raise MasteryError(f"{directory}: no trained model; run `mastery train` first")
    meta = json.loads((directory / META).read_text())
    model = build_classifier(meta)
    model.load_state_dict(load_file(directory / WEIGHTS))
    return model.eval(), meta


def save_weights(path: Path, tensors: dict[str, Tensor]) -> None:
    """Write a weights file atomically: readers see the old file or the new one, never half."""
    staging = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, staging)
    os.replace(staging, path)
