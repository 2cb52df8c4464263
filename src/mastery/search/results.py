"""What a finished search hands to training, and how it changes the candidates."""

from __future__ import annotations

import json
from pathlib import Path

from mastery.config import CandidateSpec, PipelineSpec, override
from mastery.paths import PipelinePaths

RECORD = "result.json"


def result_path(paths: PipelinePaths, kind: str) -> Path:
    return paths.search(kind) / RECORD


def searched_candidates(spec: PipelineSpec, paths: PipelinePaths) -> tuple[CandidateSpec, ...]:
    """The declared candidates, the tuned one with its best values, plus the NAS choice.

    A record is applied only while its section is still in the spec: deleting `tune:` from
    a spec brings back the declared recipe even before the tune stage runs again.
    """
    candidates = list(spec.candidates)
    tuned = _read(paths, "tune") if spec.tune else None
    if tuned:
        candidates = [
            override(c, tuned["values"], f"{result_path(paths, 'tune')}: values") if c.name == tuned["candidate"] else c
            for c in candidates
        ]
    chosen = _read(paths, "nas") if spec.nas else None
    if chosen:
        candidates.append(override(spec.nas.candidate, chosen["values"], f"{result_path(paths, 'nas')}: values"))
    return tuple(candidates)


def _read(paths: PipelinePaths, kind: str) -> dict | None:
    path = result_path(paths, kind)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if "values" in record else None
