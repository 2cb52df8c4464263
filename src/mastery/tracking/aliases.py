"""Champion moves in the MLflow registry: promote, roll back, and record the gate's verdict.

Serving loads `models:/<name>@champion`, so every move is ordered to keep a champion at
all times: MLflow sets one alias per call, and a crash may fall between two calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mastery.errors import MasteryError

if TYPE_CHECKING:  # the caller brings the client: importing mlflow here costs seconds
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from mastery.tracking.gate import GateDecision

CHAMPION = "champion"
PREVIOUS = "previous-champion"


def current_champion(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version `champion` points at, or None before the first promotion."""
    return _aliased(client, name, CHAMPION)


def promote(client: MlflowClient, name: str, version: str) -> None:
    """Make `version` the champion; the champion it replaces becomes `previous-champion`.

    `previous-champion` moves first: a crash before the second call leaves the old champion
    serving, and promoting again completes the move.
    """
    old = current_champion(client, name)
    if old is not None and str(old.version) == str(version):
        return
    if old is not None:
        client.set_registered_model_alias(name, PREVIOUS, old.version)
    client.set_registered_model_alias(name, CHAMPION, version)


def rollback(client: MlflowClient, name: str) -> ModelVersion:
    """Swap `champion` and `previous-champion` (so a second rollback rolls forward).

    `champion` moves first: the rollback target is known only from `previous-champion`,
    so a crash before the second call still leaves the rollback done.
    """
    previous = _aliased(client, name, PREVIOUS)
    if previous is None:
        raise MasteryError(f"cannot roll back '{name}': no version carries '{PREVIOUS}'")
    current = current_champion(client, name)
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS, current.version)
    return client.get_model_version(name, previous.version)


def record_decision(client: MlflowClient, name: str, version: str, decision: GateDecision) -> None:
    """Tag the version with the gate's verdict, so the registry shows why it was (not) promoted."""
    client.set_model_version_tag(name, version, "gate.passed", str(decision.passed).lower())
    client.set_model_version_tag(name, version, "gate.summary", decision.headline())


def _aliased(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    # The registered model's alias map, not get_model_version_by_alias: a missing alias
    # is an ordinary state here, and that call reports it only as INVALID_PARAMETER_VALUE.
    version = client.get_registered_model(name).aliases.get(alias)
    return None if version is None else client.get_model_version(name, version)
