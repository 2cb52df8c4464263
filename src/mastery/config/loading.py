"""Read `params.yaml` and `pipelines/<name>.yaml` into typed objects."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from mastery.config.schema import CandidateSpec, Distribution, Params, PipelineSpec, TrainConfig
from mastery.config.strict import ConfigError, parse

DEVICE_ENV = "MASTERY_DEVICE"  # set by a gpu worker (`mastery worker --pool gpu`) for the runs it takes


def load_params(path: str | Path = "params.yaml") -> Params:
    params = parse(Params, _read_yaml(Path(path)), str(path))
    device = os.environ.get(DEVICE_ENV)
    return dataclasses.replace(params, device=device) if device else params


def load_spec(name_or_path: str | Path, root: str | Path = ".") -> PipelineSpec:
    """Load a pipeline spec by name (`pipelines/<name>.yaml`) or by path.

    Each candidate's `train` section (and the NAS candidate's) is layered over the
    pipeline's `train` defaults before typing, so a candidate states only what it changes.
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = Path(root) / "pipelines" / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml"))) or "none"
        raise ConfigError(f"no pipeline '{path.stem}' ({path} not found); pipelines: {known}")
    raw = _read_yaml(path)
    if isinstance(raw.get("task"), str):  # a task by name alone
        raw["task"] = {"name": raw["task"]}
    defaults = raw.get("train") or {}
    parse(TrainConfig, defaults, str(path), "train")  # report a bad default where it is written, not per candidate
    candidates = raw.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        raise ConfigError(f"{path}: 'candidates' must be a non-empty list")
    raw["candidates"] = [_with_defaults(c, defaults) for c in candidates]
    if isinstance(raw.get("nas"), dict) and "candidate" in raw["nas"]:
        raw["nas"] = {**raw["nas"], "candidate": _with_defaults(raw["nas"]["candidate"], defaults)}
    spec = parse(PipelineSpec, raw, str(path))
    names = [c.name for c in spec.candidates]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: candidate names must be unique, got {names}")
    for key in ("tune", "nas"):
        if getattr(spec, key) is not None:
            _check_space(getattr(spec, key).space, f"{path}: {key}.space")
    if spec.tune and spec.tune.candidate not in (None, *names):
        raise ConfigError(f"{path}: tune.candidate '{spec.tune.candidate}' is not one of {names}")
    if spec.nas and len([o for o in spec.nas.objectives if o.startswith("val_")]) != 1:
        raise ConfigError(f"{path}: nas.objectives {list(spec.nas.objectives)} must hold one validation metric "
                          "(val_...) beside the costs n_parameters and latency_ms")
    if spec.nas and spec.nas.reference not in (None, *names):
        raise ConfigError(f"{path}: nas.reference '{spec.nas.reference}' is not one of {names}")
    if spec.nas and spec.nas.candidate.name in names:
        raise ConfigError(f"{path}: nas.candidate.name '{spec.nas.candidate.name}' is taken by a candidate")
    return spec


def override(candidate: CandidateSpec, values: dict[str, Any], where: str) -> CandidateSpec:
    """`candidate` with dotted keys (`train.optimizer.lr`) set; a mapping value merges deeply."""
    data = dataclasses.asdict(candidate)
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            if not isinstance(node.get(key), dict):  # e.g. early_stopping: null
                node[key] = {}
            node = node[key]
        node[leaf] = _merge(node[leaf], value) if isinstance(value, dict) and isinstance(node.get(leaf), dict) else value
    return parse(CandidateSpec, data, where)


def _with_defaults(candidate: Any, defaults: dict[str, Any]) -> Any:
    if not isinstance(candidate, dict):
        return candidate
    return {**candidate, "train": _merge(defaults, candidate.get("train") or {})}


def _check_space(space: dict[str, Distribution], where: str) -> None:
    """Each value is either `choices` or a `low`..`high` range; `per` names an earlier int key."""
    if not space:
        raise ConfigError(f"{where}: the search space is empty")
    seen: dict[str, Distribution] = {}
    for key, dist in space.items():
        if (dist.choices is None) == (dist.low is None or dist.high is None):
            raise ConfigError(f"{where}.{key}: give either 'choices' or both 'low' and 'high'")
        if dist.choices is not None and not dist.choices:
            raise ConfigError(f"{where}.{key}: 'choices' is empty")
        if dist.low is not None and dist.low > dist.high:
            raise ConfigError(f"{where}.{key}: low {dist.low} > high {dist.high}")
        if dist.per is not None and not (dist.per in seen and isinstance(seen[dist.per].low, int)):
            raise ConfigError(f"{where}.{key}: per '{dist.per}' must name an earlier integer range")
        seen[key] = dist


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
