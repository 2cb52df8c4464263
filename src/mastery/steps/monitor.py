"""Monitor: the champion's traffic (or a batch of new files) against the data it was built on.

Writes `reports/monitoring/<pipeline>/` (drift.html: Evidently's report, offline; evidently.json;
verdict.json: the verdict naming the drifted columns, what was compared and why; the observed
reference, cached) and logs the reports to an MLflow run in the `<pipeline>-monitoring` experiment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mastery.errors import MasteryError
from mastery.steps.context import Context
from mastery.steps.records import write_json

HTML, SNAPSHOT, VERDICT = "drift.html", "evidently.json", "verdict.json"


def monitor(ctx: Context, since: str | None = None, files: list[Path] | None = None, version: str | None = None) -> dict:
    """Compare the current data with the reference and judge drift.

    The current data is the prediction log's rows answered by `version` (default: the
    champion) from `since` on, or, given `files`, those batches observed by that version.
    """
    from mastery.monitoring.drift import Verdict, compare
    from mastery.monitoring.observe import drift_columns
    from mastery.monitoring.tables import cached_reference, file_rows, log_rows
    from mastery.serving.model import ModelSource, champion_version, load_served
    from mastery.tracking.lineage import data_hash
    from mastery.tracking.mlflow_runs import configure

    configure(ctx.params.tracking, f"{ctx.spec.name}-monitoring")
    name, config = ctx.spec.registered_model, ctx.spec.monitor
    version = version or champion_version(name)
    if version is None:
        raise MasteryError(f"'{name}' has no champion to monitor: run the pipeline first")
    model = load_served(ModelSource(name, ctx.paths.exports), str(version))
    out, prepared = ctx.paths.drift_reports, data_hash(ctx.paths.prepared)
    reference, cached = cached_reference(model, ctx.paths.prepared, prepared, out)
    current = file_rows(model, files, ctx.paths.prepared) if files else log_rows(ctx.paths.prediction_log, model.version, since)
    columns = drift_columns(reference, model, config.columns)
    for stale in (HTML, SNAPSHOT):
        (out / stale).unlink(missing_ok=True)
    if len(current.frame):
        snapshot, judged = compare(reference, current.frame, columns, config)
        snapshot.save_html(str(out / HTML))
        (out / SNAPSHOT).write_text(snapshot.json())
    else:
        judged = Verdict(drift=None, drifted=[], share=0.0, drift_share=config.drift_share,
                         reference_rows=len(reference), current_rows=0, note=f"no current rows ({current.source})")
    record = {
        "pipeline": ctx.spec.name,
        "model": name,
        "version": model.version,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "verdict": judged.headline(),
        **judged.to_dict(),
        "current": {"source": current.source, **current.window},
        "reference": {"data": str(ctx.paths.prepared), "splits": ["val", "test"], "rows": len(reference),
                      "is_training_data": model.lineage.get("data_hash") == prepared, "from_cache": cached},
        "reports": {kind: str(out / f) for kind, f in (("html", HTML), ("json", SNAPSHOT)) if (out / f).exists()},
    }
    write_json(out / VERDICT, record)
    record["run_id"] = _log_run(record, out)
    return record


def _log_run(record: dict, out: Path) -> str:
    """One MLflow run per check: the verdict's figures as metrics, the reports as artifacts."""
    import mlflow

    from mastery.tracking.mlflow_runs import log_metrics

    drift = record["drift"]
    with mlflow.start_run(run_name=f"drift check v{record['version']}") as run:
        mlflow.set_tags({"model": record["model"], "model_version": record["version"],
                         "drift": "none" if drift is None else str(drift).lower(),
                         "drifted_columns": ", ".join(record["drifted"]) or "-", "mlflow.note.content": record["verdict"]})
        mlflow.log_params({"current_source": record["current"]["source"][:500], "current_rows": record["current_rows"],
                           "reference_rows": record["reference_rows"], "drift_share": record["drift_share"]})
        metrics = {"drifted_share": record["share"], **{f"drift_score/{c['column']}": c["score"] for c in record["columns"]}}
        if drift is not None:
            metrics["drift"] = float(drift)
        log_metrics(run.info.run_id, metrics)
        for name in (HTML, SNAPSHOT, VERDICT):
            if (out / name).is_file():
                mlflow.log_artifact(str(out / name), "monitoring")
    return run.info.run_id
