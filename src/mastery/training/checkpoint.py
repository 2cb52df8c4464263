"""Crash-safe checkpoints as safetensors: a run killed mid-write resumes from the last whole one.

Each checkpoint is a directory `epoch-NNNN/` holding one `.safetensors` file per tensor group
and `state.json` for everything else; the `LATEST` file is switched atomically only after the
directory is complete, so a half-written checkpoint is never read.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor

LATEST = "LATEST"


def save_checkpoint(directory: Path, tag: str, groups: dict[str, dict[str, Tensor]], state: dict) -> Path:
    """Write tensor groups and JSON state under `directory/tag`, then point LATEST at it."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / tag
    staging = directory / f".{tag}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for group, tensors in groups.items():
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, staging / f"{group}.safetensors")
    (staging / "state.json").write_text(json.dumps(state))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    _write_atomically(directory / LATEST, tag)
    for old in directory.glob("epoch-*"):
        if old.name != tag:
            shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(directory: Path) -> tuple[dict[str, dict[str, Tensor]], dict] | None:
    """The last complete checkpoint, or None when there is none."""
    pointer = directory / LATEST
    if not pointer.is_file():
        return None
    target = directory / pointer.read_text().strip()
    groups = {f.stem: load_file(f) for f in target.glob("*.safetensors")}
    return groups, json.loads((target / "state.json").read_text())


def flatten_optimizer_state(state_dict: dict) -> tuple[dict[str, Tensor], dict]:
    """Split an optimizer state dict into flat tensors (safetensors) and the JSON-able rest."""
    tensors, rest = {}, {"param_groups": state_dict["param_groups"], "state": {}}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                rest["state"].setdefault(str(index), {})[key] = value
    return tensors, rest


def unflatten_optimizer_state(tensors: dict[str, Tensor], rest: dict) -> dict:
    state: dict[int, dict] = {int(i): dict(v) for i, v in rest["state"].items()}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_suffix(".tmp")
    staging.write_text(text)
    os.replace(staging, path)
