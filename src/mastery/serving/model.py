"""The served model: a registered version's ONNX file, verified against its registry tag.

Only ONNX is loaded (ONNX Runtime parses a protobuf; nothing is unpickled). The file's
sha256 must equal the `onnx_sha256` (or `onnx_int8_sha256`) that export tagged on the
version, and the session is built from the very bytes that were hashed. The file is looked
for in `exports/<pipeline>/` first, then in the version's run artifacts (`onnx/`), where
export also logs it: after a rollback the local export belongs to the newer version, and the
older one is still served from the registry. Anything else is refused with both hashes named.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mastery.errors import MasteryError
from mastery.export.contract import CONTRACT_KEY, Contract, ContractError
from mastery.modalities import list_modalities
from mastery.serving.tasks import TASKS
from mastery.tracking.lineage import LINEAGE_TAGS

log = logging.getLogger("mastery.serving")
ARTIFACTS = "onnx"  # where export logs the files on the champion's run


class ModelRefused(MasteryError):
    """No file of this version can be served: missing tag, hash mismatch or unusable contract."""


@dataclass(frozen=True)
class ModelSource:
    """Which registered model to serve, and which of its exports."""

    name: str
    exports: Path  # exports/<pipeline>/
    int8: bool = False

    @property
    def filename(self) -> str:
        return "model.int8.onnx" if self.int8 else "model.onnx"

    @property
    def tag(self) -> str:
        return "onnx_int8_sha256" if self.int8 else "onnx_sha256"


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    sha256: str
    origin: str  # the path or artifact URI the verified bytes came from
    contract: Contract
    lineage: dict[str, str]
    session: Any  # anything with ONNX Runtime's `run(output_names, feeds)`
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def run(self, inputs: dict) -> dict:
        """Named outputs for named input arrays."""
        names = [spec.name for spec in self.contract.outputs]
        return dict(zip(names, self.session.run(names, inputs)))

    def example_inputs(self) -> dict:
        """One example of zeros per input (symbolic dimensions their smallest): warm-up and dry runs."""
        import numpy as np

        return {spec.name: np.zeros([1, *map(spec.smallest, spec.sample_shape)], dtype=spec.dtype)
                for spec in self.contract.inputs}


def champion_version(name: str) -> str | None:
    """The version the registry's `champion` alias points at now, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mastery.tracking.aliases import CHAMPION

    client = MlflowClient()
    try:
        version = client.get_registered_model(name).aliases.get(CHAMPION)
    except MlflowException as error:
        raise ModelRefused(f"cannot read '{name}' from {client.tracking_uri} ({error.message}); has the pipeline run?") from error
    return None if version is None else str(version)


def load_champion(source: ModelSource) -> ServedModel:
    version = champion_version(source.name)
    if version is None:
        raise ModelRefused(f"'{source.name}' has no champion yet: run the pipeline (`make run`) first")
    return load_served(source, version)


def load_served(source: ModelSource, version: str) -> ServedModel:
    """Verify and load `version`'s export, refusing (`ModelRefused`) what cannot be served."""
    from mlflow import MlflowClient

    model_version = MlflowClient().get_model_version(source.name, version)
    expected = model_version.tags.get(source.tag)
    if not expected:
        raise ModelRefused(
            f"{source.name} v{version} has no '{source.tag}' tag: export it (`mastery export`) before serving"
        )
    data, origin = _verified_bytes(source, version, model_version.run_id, expected)
    session = serving_session(data)
    metadata = session.get_modelmeta().custom_metadata_map
    contract = _contract(metadata, session, f"{source.name} v{version}")
    lineage = {"run_id": model_version.run_id} | {k: metadata.get(k, "unknown") for k in LINEAGE_TAGS}
    return ServedModel(source.name, version, expected, origin, contract, lineage, session)


def _verified_bytes(source: ModelSource, version: str, run_id: str, expected: str) -> tuple[bytes, str]:
    refused = []
    for origin, read in _candidates(source, run_id):
        try:
            data = read()
        except (OSError, MasteryError) as error:
            refused.append(f"{origin}: unreadable ({error})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest == expected:
            return data, origin
        refused.append(f"{origin}: sha256 {digest[:12]}... is not v{version}'s {source.tag} {expected[:12]}...")
        log.warning("refused %s for %s v%s: sha256 differs from the registry's tag", origin, source.name, version)
    raise ModelRefused(f"no verified file for {source.name} v{version}: " + "; ".join(refused))


def _candidates(source: ModelSource, run_id: str):
    local = source.exports / source.filename
    yield str(local), local.read_bytes
    artifact = f"{ARTIFACTS}/{source.filename}"
    yield f"runs:/{run_id}/{artifact}", lambda: _download(run_id, artifact)


def _download(run_id: str, artifact: str) -> bytes:
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="mastery-serve-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp)
        except MlflowException as error:
            raise MasteryError(error.message) from error
        return Path(path).read_bytes()


def serving_session(data: bytes):
    """An ONNX Runtime CPU session over in-memory bytes, on one thread with spinning off: the
    app runs one request at a time on its event loop, a small batch gains nothing from more
    threads, and idle ones would busy-wait on the cores the event loop needs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _contract(metadata: dict[str, str], session, what: str) -> Contract:
    """The file's contract, checked against the graph and against what this server can serve."""
    if CONTRACT_KEY not in metadata:
        raise ModelRefused(f"{what} carries no {CONTRACT_KEY}: re-export it with this version of mastery")
    try:
        contract = Contract.from_json(metadata[CONTRACT_KEY])
    except ContractError as error:
        raise ModelRefused(f"{what}: {error}") from error
    graph = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    declared = ([s.name for s in contract.inputs], [s.name for s in contract.outputs])
    problems = [
        f"inputs {declared[0]} but the graph takes {graph[0]}" if set(declared[0]) != set(graph[0]) else "",
        f"outputs {declared[1]} are not all in the graph's {graph[1]}" if not set(declared[1]) <= set(graph[1]) else "",
        f"task '{contract.task}' is not one of {sorted(TASKS)}" if contract.task not in TASKS else "",
        f"profile '{contract.profile}' is not one of {list_modalities()}" if contract.profile not in (None, *list_modalities()) else "",
        "a classifier's contract lists no classes" if contract.task == "classification" and not contract.classes else "",
    ]
    if problems := [p for p in problems if p]:
        raise ModelRefused(f"{what}: contract does not fit: " + "; ".join(problems))
    return contract
