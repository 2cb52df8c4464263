"""Promote: the challenger replaces the champion only if the gate says so; rollback undoes it."""

from __future__ import annotations

from mastery.data.prepare import PreparedData
from mastery.errors import MasteryError
from mastery.evaluation import score_model
from mastery.steps.context import Context
from mastery.steps.records import read_json, write_json
from mastery.tracking import aliases
from mastery.tracking.gate import decide, primary_metric
from mastery.tracking.lineage import LINEAGE_TAGS
from mastery.tracking.mlflow_runs import configure, set_note_section, use_store
from mastery.tracking.registry import load_version
from mastery.training.device import resolve_device


class GateFailed(MasteryError):
    """A blocking gate refused the challenger; the message lists the failed checks."""


def promote(ctx: Context) -> dict:
    """Judge the version `evaluate` registered against the champion, on today's test split.

    Both models are loaded from the registry and scored on the same examples, so the
    comparison is paired even when the champion was trained on older data. The decision
    is written to the run, the version's tags and `reports/promotion/<pipeline>.json`
    whether it passes or not; only a pass moves the aliases.
    """
    import mlflow
    from mlflow import MlflowClient

    configure(ctx.params.tracking, ctx.spec.name)
    client = MlflowClient()
    challenger = read_json(ctx.paths.model_version, made_by="evaluate")
    name, version = challenger["name"], str(challenger["version"])
    champion = aliases.current_champion(client, name)
    data = PreparedData.load(ctx.paths.prepared)
    device = resolve_device(ctx.params.device)
    table = ctx.task.metrics
    metric = table.metric(primary_metric(ctx.spec.gate, table))

    def score(ref: str):
        return score_model(load_version(name, ref)[0], ctx.task, data.splits["test"], data.stats, device)

    def paired(scores):
        return scores.per_example(metric.name) if scores is not None and metric.per_example else None

    new = score(version)
    old = score(aliases.CHAMPION) if champion and str(champion.version) != version else None
    if old is not None and not metric.per_example:
        raise MasteryError(_unpaired(metric.name, table))
    decision = decide(ctx.spec.gate, table, new.flat(), paired(new), old.flat() if old else None, paired(old))
    aliases.record_decision(client, name, version, decision)
    with mlflow.start_run(run_id=challenger["run_id"]):
        mlflow.log_dict(decision.to_dict(), "promotion/decision.json")
        mlflow.log_metric("gate_passed", float(decision.passed))
    if decision.passed:
        aliases.promote(client, name, version)
    after = aliases.current_champion(client, name)
    verdict = _verdict(name, version, champion, after, decision)
    set_note_section(challenger["run_id"], "Promotion", f"{verdict}\n\n```\n{decision.summary()}\n```")
    client.update_model_version(name, version, description=_version_description(client, name, version, verdict,
                                                                                decision))
    report = {
        "model": name,
        "challenger": version,
        "champion_before": str(champion.version) if champion else None,
        "champion_after": str(after.version) if after else None,
        "promoted": decision.passed,
        "decision": decision.to_dict(),
        "summary": f"{verdict}\n{decision.summary()}",
    }
    write_json(ctx.paths.promotion, report)
    if not decision.passed and ctx.spec.gate.blocking:
        raise GateFailed(f"{name} v{version} not promoted (blocking gate)\n{decision.summary()}")
    return report


def _unpaired(metric: str, table) -> str:
    paired = [f"test_{m.name}" for m in table.metrics if m.per_example]
    choice = f"set gate.primary_metric to one that has: {', '.join(paired)}" if paired else (
        "this task has none yet (an unconditional generator's Fréchet distance), so only a first model is gated, "
        "by its thresholds")
    return (f"the gate compares champion and challenger example by example, and '{metric}' is a statistic of the "
            f"whole test set with no per-example scores; {choice}")


def _verdict(name: str, version: str, before, after, decision) -> str:
    if before is not None and str(before.version) == version:
        return f"{name} v{version} is the champion already (the same model was registered again)"
    if decision.passed:
        return f"{name} v{version} promoted to champion" + (f", replacing v{before.version}" if before else "")
    return f"{name} v{version} not promoted; the champion stays " + (f"v{after.version}" if after else "unset")


def _version_description(client, name: str, version: str, verdict: str, decision) -> str:
    """The registry page's description: the gate's decision with its figures, then the lineage."""
    tags = client.get_model_version(name, version).tags
    lineage = "\n".join(f"- {key}: `{tags.get(key, 'unknown')}`" for key in LINEAGE_TAGS)
    return f"**{verdict}**\n\n```\n{decision.summary()}\n```\n\nLineage:\n{lineage}"


def rollback(ctx: Context) -> dict:
    """Give the champion alias back to the previous champion."""
    from mlflow import MlflowClient

    use_store(ctx.params.tracking)
    restored = aliases.rollback(MlflowClient(), ctx.spec.registered_model)
    return {"model": ctx.spec.registered_model, "champion": str(restored.version)}
