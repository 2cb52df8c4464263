"""The small JSON records steps leave for DVC and for the step after them."""

from __future__ import annotations

import json
from pathlib import Path

from mastery.errors import MasteryError


def write_json(path: Path, data: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path, made_by: str) -> dict:
    """Read a record, or say which step must run first to make it."""
    if not path.is_file():
        raise MasteryError(f"{path}: not found; run `mastery {made_by}` first")
    return json.loads(path.read_text())
