"""Fingerprints that tie a model version to its code, data and configuration."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

# Set on each training run, copied to the model version it becomes, written into its exports.
LINEAGE_TAGS = ("pipeline", "candidate", "model_family", "git_commit", "code_hash", "data_hash", "params_hash",
                "weights_sha256")
# MLflow's UI shows an experiment as model training, not GenAI, only when asked in the URL
# (or once switched by hand): the experimentKind tag does not decide it in MLflow 3.17.
MODEL_TRAINING = "?workflowType=machine_learning"
# What makes two versions the same model: equal weights from equal data, params and code.
IDENTITY_TAGS = ("weights_sha256", "data_hash", "params_hash", "code_hash")


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


def code_hash(directories: list[Path]) -> str:
    """A short hash of the Python sources under `directories` (bytecode caches aside)."""
    digest = hashlib.sha256()
    for directory in directories:
        for source in sorted(Path(directory).rglob("*.py")):
            digest.update(source.relative_to(Path(directory).parent).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def identity(tags: dict[str, str]) -> str:
    """One value for a model's identity tags, searchable in the registry."""
    return hashlib.sha256("|".join(tags[key] for key in IDENTITY_TAGS).encode()).hexdigest()[:32]


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
        "mlflow_ui": f"/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}{MODEL_TRAINING}",
        "candidate": tags.get("candidate"),
        "gate": tags.get("gate.summary"),
        "onnx_sha256": tags.get("onnx_sha256"),
        "onnx_int8_sha256": tags.get("onnx_int8_sha256"),
    }


def _resolve(client, ref: str) -> tuple[str, str]:
    """(name, version) for `name`, `name@alias` or `name/version`, or a MasteryError saying
    which part does not exist and what does."""
    from mlflow.exceptions import MlflowException

    from mastery.errors import MasteryError

    if "/" in ref and "@" not in ref:
        name, _, version = ref.rpartition("/")
        alias = None
    else:
        name, _, alias = ref.partition("@")
        alias = alias or "champion"
    try:
        model = client.get_registered_model(name)
    except MlflowException as error:
        known = ", ".join(sorted(m.name for m in client.search_registered_models())) or "none"
        raise MasteryError(f"no registered model '{name}' in {client.tracking_uri}; registered: {known}") from error
    if alias is not None:
        if alias not in model.aliases:
            aliases = ", ".join(f"{a} (v{v})" for a, v in sorted(model.aliases.items())) or "none"
            raise MasteryError(f"model '{name}' has no alias '{alias}'; aliases: {aliases}")
        return name, str(model.aliases[alias])
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    if not version.isdigit() or int(version) not in versions:
        raise MasteryError(f"model '{name}' has no version '{version}'; versions: {', '.join(map(str, versions))}")
    return name, version
