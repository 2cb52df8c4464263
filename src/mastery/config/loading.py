"""Read `params.yaml` and `pipelines/<name>.yaml` into typed objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mastery.config.schema import Params, PipelineSpec
from mastery.config.strict import ConfigError, parse


def load_params(path: str | Path = "params.yaml") -> Params:
    return parse(Params, _read_yaml(Path(path)), str(path))


def load_spec(name_or_path: str | Path, root: str | Path = ".") -> PipelineSpec:
    """Load a pipeline spec by name (`pipelines/<name>.yaml`) or by path.

    Each candidate's `train` section is layered over the pipeline's `train` defaults
    before typing, so a candidate states only what it changes.
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = Path(root) / "pipelines" / f"{name_or_path}.yaml"
    raw = _read_yaml(path)
    defaults = raw.pop("train", None) or {}
    candidates = raw.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        raise ConfigError(f"{path}: 'candidates' must be a non-empty list")
    raw["candidates"] = [
        {**c, "train": _merge(defaults, c.get("train") or {})} if isinstance(c, dict) else c
        for c in candidates
    ]
    spec = parse(PipelineSpec, raw, str(path))
    names = [c.name for c in spec.candidates]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: candidate names must be unique, got {names}")
    return spec


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data
