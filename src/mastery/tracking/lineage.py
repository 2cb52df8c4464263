"""Fingerprints that tie a model version to its code, data and configuration."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

# Set on each training run, copied to the model version it becomes, written into its exports.
LINEAGE_TAGS = ("pipeline", "candidate", "model_family", "git_commit", "data_hash", "params_hash")


def git_commit(root: Path = Path(".")) -> str:
    """HEAD's commit, suffixed `-dirty` when tracked files differ from it; `unknown` outside git."""
    try:
        commit = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def data_hash(path: Path) -> str:
    """The md5 DVC records for `path` in dvc.lock (a directory hashes its sorted file listing)."""
    path = Path(path)
    if path.is_file():
        return file_digest(path)
    files = (f for f in path.rglob("*") if f.is_file())
    listing = sorted(
        ({"md5": file_digest(f), "relpath": f.relative_to(path).as_posix()} for f in files),
        key=lambda entry: entry["relpath"],
    )
    digest = hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    return f"{digest}.dir"


def params_hash(config: Any) -> str:
    """A stable short hash of a (dataclass) configuration."""
    if dataclasses.is_dataclass(config):
        config = dataclasses.asdict(config)
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def describe(ref: str) -> dict:
    """The chain behind a registered model: `name`, `name@alias` or `name/version`.

    A bare name means its champion. Returns code, data and params fingerprints, the MLflow
    run, the version with its aliases, and the hashes of its ONNX exports.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    name, version = _resolve(client, ref)
    model_version = client.get_model_version(name, version)
    run = client.get_run(model_version.run_id)
    aliases = [a for a, v in client.get_registered_model(name).aliases.items() if str(v) == str(version)]
    tags = model_version.tags
    return {
        "model": name,
        "version": str(version),
        "aliases": sorted(aliases),
        "git_commit": tags.get("git_commit"),
        "data_hash": tags.get("data_hash"),
        "params_hash": tags.get("params_hash"),
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "candidate": tags.get("candidate"),
        "gate": tags.get("gate.summary"),
        "onnx_sha256": tags.get("onnx_sha256"),
        "onnx_int8_sha256": tags.get("onnx_int8_sha256"),
    }


def _resolve(client, ref: str) -> tuple[str, str]:
    from mlflow.exceptions import MlflowException

    from mastery.errors import MasteryError

    if "@" in ref:
        name, alias = ref.split("@", 1)
    elif "/" in ref:
        name, version = ref.rsplit("/", 1)
        return name, version
    else:
        name, alias = ref, "champion"
    try:
        version = client.get_registered_model(name).aliases.get(alias)
    except MlflowException as error:
        raise MasteryError(f"no registered model '{name}' in {client.tracking_uri}") from error
    if version is None:
        raise MasteryError(f"model '{name}' has no alias '{alias}'")
    return name, str(version)
