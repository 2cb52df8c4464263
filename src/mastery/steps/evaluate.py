"""Evaluate: score every candidate on the test split, compare them, register the one validation prefers."""

from __future__ import annotations

import json

from mastery.data.prepare import PreparedData
from mastery.evaluation import (
    Scores,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_roc,
    score_classifier,
    write_plot_data,
)
from mastery.evaluation.explain import save_explanations
from mastery.evaluation.zoo import write_zoo_table, zoo_row
from mastery.models.artifact import load_trained
from mastery.steps.context import Context
from mastery.steps.records import write_json
from mastery.tracking.lineage import LINEAGE_TAGS
from mastery.tracking.mlflow_runs import configure, log_metrics, set_note_section
from mastery.tracking.registry import register_unless_known
from mastery.training.device import resolve_device

HEADLINE = ("test_accuracy", "test_f1_macro")  # the figures a DVC experiment table compares


def evaluate(ctx: Context) -> dict:
    """Write `metrics/<pipeline>.json`, plots, plot data and the zoo table; register the selected candidate."""
    import mlflow

    configure(ctx.params.tracking, ctx.spec.name)
    x_test, y_test = PreparedData.load(ctx.paths.prepared).splits["test"]
    scored = {c.name: _score_candidate(ctx, c.name, x_test, y_test) for c in ctx.candidates}
    metric = ctx.spec.selection_metric
    selected = max(scored, key=lambda name: scored[name]["best"][metric])
    chosen = scored[selected]
    scores: Scores = chosen["scores"]
    write_plot_data(ctx.paths.plots, chosen["history"], scores.labels, scores.predicted, scores.class_names)
    rows = [s["row"] for s in scored.values()]
    table = write_zoo_table(rows, ctx.paths.reports / "zoo.md", f"Model zoo: {ctx.spec.name}", _device(ctx))
    for s in scored.values():
        with mlflow.start_run(run_id=s["run_id"]):
            mlflow.log_artifact(str(table), "evaluation")
    version, reused = _register(ctx, selected, x_test[:5].numpy(), chosen)
    headline = {key: value for key, value in scores.flat(per_class=False).items() if key in HEADLINE}
    summary = {
        "selected": selected,
        "registered_model": ctx.spec.registered_model,
        "version": int(version.version),
        "registration": _registration_note(version, reused),
        **scores.flat(per_class=False),
        "candidates": {name: s["scores"].flat(per_class=False) | s["row"].cost_metrics() for name, s in scored.items()},
    }
    write_json(ctx.paths.metrics, headline)  # numbers only: what `dvc metrics` and `dvc exp show` tabulate
    write_json(ctx.paths.reports / "evaluation.json", summary)
    write_json(ctx.paths.model_version, {"name": version.name, "version": int(version.version),
                                         "run_id": version.run_id, "candidate": selected, "reused": reused})
    for name, s in scored.items():
        set_note_section(s["run_id"], "Evaluation", _evaluation_note(name, s, selected, version, reused))
    return summary


def _registration_note(version, reused: bool) -> str:
    if reused:
        return (f"{version.name} v{version.version} already holds this model (same weights, data, params and "
                "code): reused, not registered again")
    return f"registered as {version.name} v{version.version}"


def _evaluation_note(name: str, scored: dict, selected: str, version, reused: bool) -> str:
    metrics = scored["scores"].metrics
    text = (f"Test accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['f1_macro']:.4f} "
            f"on {metrics['n_samples']:,} examples.")
    if name != selected:
        return f"{text} Not selected: `{selected}` scored higher on validation."
    return f"{text} Selected; {_registration_note(version, reused)}."


def _score_candidate(ctx: Context, name: str, x_test, y_test) -> dict:
    import mlflow

    directory = ctx.paths.candidate(name)
    model, meta = load_trained(directory)
    run = json.loads((directory / "run.json").read_text())
    history = json.loads((directory / "history.json").read_text())
    scores = score_classifier(model, x_test, y_test, meta["classes"], _device(ctx))
    max_batches = mlflow.get_run(run["run_id"]).data.params.get("train.max_batches", "None")
    row = zoo_row(meta, model, scores, history, _device(ctx), None if max_batches == "None" else int(max_batches))
    figures = ctx.paths.reports / name
    paths = [
        plot_learning_curves(history, figures / "learning_curves.png"),
        plot_confusion_matrix(scores.metrics["confusion_matrix"], meta["classes"], figures / "confusion_matrix.png"),
        plot_roc(scores.labels, scores.probs, meta["classes"], figures / "roc.png"),
    ]
    explained = save_explanations(model, x_test[:8], y_test[:8], meta["classes"], figures)
    paths += [explained] if explained else []
    log_metrics(run["run_id"], scores.flat() | row.cost_metrics())
    with mlflow.start_run(run_id=run["run_id"]):
        for path in paths:
            mlflow.log_artifact(str(path), "evaluation")
        mlflow.log_dict(scores.metrics, "evaluation/test_metrics.json")
    return {"scores": scores, "best": run["best"], "history": history, "run_id": run["run_id"],
            "model": model, "meta": meta, "row": row}


def _device(ctx: Context):
    return resolve_device(ctx.params.device)


def _register(ctx: Context, name: str, input_example, scored: dict):
    """(version, reused) for the selected candidate; an identical model keeps its version."""
    import mlflow

    run_tags = mlflow.get_run(scored["run_id"]).data.tags
    tags = {key: run_tags[key] for key in LINEAGE_TAGS}
    tags["test_accuracy"] = f"{scored['scores'].metrics['accuracy']:.4f}"
    with mlflow.start_run(run_id=scored["run_id"]):
        return register_unless_known(
            scored["model"], ctx.paths.candidate(name), input_example, ctx.spec.registered_model, tags
        )
