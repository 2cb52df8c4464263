"""A trained model on disk: safetensors weights plus the JSON that rebuilds it.

`model.json` holds what `build_trained` needs: the family and its params, the dimensions
the data and task give it (input shape or vocabulary, classes, horizon), for images the
statistics its standardisation layer carries. A model of text reads token ids that mean
nothing without the tokenizer that made them: it lies beside the weights (`tokenizer.json`,
Hugging Face `tokenizers`' own format), so wherever the model goes (MLflow's `eager/`, export's
serving contract) the tokenizer goes too. Nothing on disk is unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from mastery.errors import MasteryError
from mastery.models.registry import build_model
from mastery.models.standardize import FittedStandardized, Standardized, closed_form_parts

WEIGHTS, META, TOKENIZER = "model.safetensors", "model.json", "tokenizer.json"


def model_meta(candidate: str, family: str, params: dict, task, stats: dict) -> dict:
    """Everything that rebuilds a candidate's model for data prepared with `stats`."""
    meta = {"candidate": candidate, "family": family, "params": params, "task": task.name,
            "modality": stats["modality"], "classes": stats["classes"],
            "dims": stats["dims"] | task.model_dims(stats)}
    if "image" in task.inputs:  # a generator reads noise: nothing to standardise
        meta |= {"mean": stats["mean"], "std": stats["std"]}
    if "tokenizer" in stats:
        meta["tokenizer"] = stats["tokenizer"]
    return meta


def build_trained(meta: dict) -> nn.Module:
    """The registered family for `meta`, behind its standardisation layer for images."""
    net = build_model(meta["family"], **meta["dims"], **meta["params"])
    if "mean" not in meta:  # no image in: nothing to standardise
        return net
    wrapper = FittedStandardized if closed_form_parts(net) else Standardized
    return wrapper(net, meta["mean"], meta["std"])


def save_trained(directory: Path, model: nn.Module, meta: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory / WEIGHTS, model.state_dict())
    meta = dict(meta)
    if "tokenizer" in meta:
        (directory / TOKENIZER).write_text(meta.pop("tokenizer"))
    (directory / META).write_text(json.dumps(meta, indent=2) + "\n")


def load_trained(directory: Path) -> tuple[nn.Module, dict]:
    directory = Path(directory)
    if not (directory / META).is_file():
        raise MasteryError(f"{directory}: no trained model; run `mastery train` first")
    meta = json.loads((directory / META).read_text())
    if (directory / TOKENIZER).is_file():
        meta["tokenizer"] = (directory / TOKENIZER).read_text()
    model = build_trained(meta)
    model.load_state_dict(load_file(directory / WEIGHTS))
    return model.eval(), meta


def family_net(model: nn.Module) -> nn.Module:
    """The family itself (what holds `features` and `head`), behind any input layer."""
    return model.net if isinstance(model, Standardized) else model


def save_weights(path: Path, tensors: dict[str, Tensor]) -> None:
    """Write a weights file atomically: readers see the old file or the new one, never half."""
    staging = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, staging)
    os.replace(staging, path)
