"""Evaluate: score every candidate on the test split, compare them, register the one validation prefers."""

from __future__ import annotations

import dataclasses
import json

from mastery.data.prepare import PreparedData
from mastery.data.registry import get_dataset
from mastery.evaluation import score_model
from mastery.evaluation.anomaly import anomaly_scores
from mastery.evaluation.cost import measure_latencies_ms
from mastery.evaluation.plot_data import write_plot_data
from mastery.evaluation.plots import plot_learning_curves
from mastery.evaluation.zoo import write_zoo_table, zoo_row
from mastery.modalities import get_modality
from mastery.models.artifact import load_trained
from mastery.steps.context import Context
from mastery.steps.records import write_json
from mastery.tracking.lineage import LINEAGE_TAGS
from mastery.tracking.mlflow_runs import configure, log_metrics, set_note_section
from mastery.tracking.registry import register_unless_known
from mastery.training.device import resolve_device
from mastery.validation import validate_raw


def selection_metric(ctx: Context) -> str:
    """What picks the candidate to register: the spec's, else the task's primary validation metric."""
    return ctx.spec.selection_metric or f"val_{ctx.task.metrics.primary.name}"


def evaluate(ctx: Context) -> dict:
    """Write `metrics/<pipeline>.json`, plots, plot data and the zoo table; register the selected candidate."""
    import mlflow

    configure(ctx.params.tracking, ctx.spec.name)
    data = PreparedData.load(ctx.paths.prepared)
    anomalies = _anomalies(ctx, data.stats)
    scored = {c.name: _score_candidate(ctx, c, data, anomalies) for c in ctx.candidates}
    _add_zoo_rows(ctx, scored, data.splits["test"])
    table, metric = ctx.task.metrics, selection_metric(ctx)
    selected = table.best(metric, scored, key=lambda name: scored[name]["best"][metric])
    chosen = scored[selected]
    scores = chosen["scores"]
    write_plot_data(ctx.paths.plots, chosen["history"], chosen["figures"])
    zoo = write_zoo_table([s["row"] for s in scored.values()], table, ctx.paths.reports / "zoo.md",
                          f"Model zoo: {ctx.spec.name}", _device(ctx))
    for s in scored.values():
        with mlflow.start_run(run_id=s["run_id"]):
            mlflow.log_artifact(str(zoo), "evaluation")
    version, reused = _register(ctx, selected, data, chosen)
    flat = scores.flat(per_class=False)
    summary = {
        "selected": selected,
        "selection_metric": metric,
        "registered_model": ctx.spec.registered_model,
        "version": int(version.version),
        "registration": _registration_note(version, reused),
        **flat,
        "candidates": {name: s["scores"].flat(per_class=False) | s["row"].cost_metrics() for name, s in scored.items()},
    }
    # numbers only, the task's headline: what `dvc metrics` and `dvc exp show` tabulate
    write_json(ctx.paths.metrics, {f"test_{name}": flat[f"test_{name}"] for name in table.shown})
    write_json(ctx.paths.reports / "evaluation.json", summary)
    write_json(ctx.paths.model_version, {"name": version.name, "version": int(version.version),
                                         "run_id": version.run_id, "candidate": selected, "reused": reused})
    for name, s in scored.items():
        set_note_section(s["run_id"], "Evaluation", _evaluation_note(ctx, name, s, selected, metric, version, reused))
    return summary


def _registration_note(version, reused: bool) -> str:
    if reused:
        return (f"{version.name} v{version.version} already holds this model (same weights, data, params and "
                "code): reused, not registered again")
    return f"registered as {version.name} v{version.version}"


def _evaluation_note(ctx: Context, name: str, scored: dict, selected: str, metric: str, version, reused: bool) -> str:
    flat = scored["scores"].flat(per_class=False)
    shown = ", ".join(f"{m.replace('_', ' ')} {flat[f'test_{m}']:.4f}" for m in ctx.task.metrics.shown)
    text = f"Test: {shown} on {scored['n_test']:,} examples."
    if name != selected:
        return f"{text} Not selected: `{selected}` scored better on `{metric}`."
    return f"{text} Selected; {_registration_note(version, reused)}."


def _anomalies(ctx: Context, stats: dict):
    """The spec's `task.anomalies` images (validated) as the test images are prepared, or None."""
    name = ctx.spec.task.anomalies
    if name is None:
        return None
    info = get_dataset(name)
    raw = info.load(ctx.params)
    validate_raw(raw, info, ctx.paths.reports / "anomalies" / "validation")
    return get_modality(info.modality).tensors(raw.arrays, stats | {"pixel_max": info.pixel_max})["image"]


def _score_candidate(ctx: Context, candidate, data: PreparedData, anomalies) -> dict:
    import mlflow

    directory = ctx.paths.candidate(candidate.name)
    model, meta = load_trained(directory)
    run = json.loads((directory / "run.json").read_text())
    history = json.loads((directory / "history.json").read_text())
    test = data.splits["test"]
    scores = score_model(model, ctx.task, test, data.stats, _device(ctx))
    if anomalies is not None:
        detected = anomaly_scores(model, test["image"], anomalies, ctx.spec.task.anomalies, _device(ctx))
        scores = dataclasses.replace(scores, anomaly=detected)
    headline = {m: scores.flat()[f"test_{m}"] for m in ctx.task.metrics.shown}
    figures = ctx.paths.reports / candidate.name
    paths = [plot_learning_curves(history, run["best"].get("epoch"), figures / "learning_curves.png"),
             *ctx.task.figures(model, scores, test, meta, figures)]
    log_metrics(run["run_id"], scores.flat())
    with mlflow.start_run(run_id=run["run_id"]):
        for path in paths:
            mlflow.log_artifact(str(path), "evaluation")
        mlflow.log_dict(scores.report(), "evaluation/test_metrics.json")
    return {"scores": scores, "best": run["best"], "history": history, "run_id": run["run_id"],
            "model": model, "meta": meta, "headline": headline, "max_batches": candidate.train.max_batches,
            "figures": paths[1:], "n_test": data.stats["counts"]["test"]}


def _add_zoo_rows(ctx: Context, scored: dict[str, dict], test: dict) -> None:
    """Each candidate's zoo row, logged to its run; latencies are timed in interleaved rounds
    over all candidates, so on a busy machine their ratios hold."""
    models = [s["model"] for s in scored.values()]
    latencies = measure_latencies_ms(models, ctx.task.example(test), _device(ctx))
    for s, latency in zip(scored.values(), latencies, strict=True):
        s["row"] = zoo_row(s["meta"], s["model"], s["headline"], s["history"], latency, s["max_batches"])
        log_metrics(s["run_id"], s["row"].cost_metrics())


def _device(ctx: Context):
    return resolve_device(ctx.params.device)


def _register(ctx: Context, name: str, data: PreparedData, scored: dict):
    """(version, reused) for the selected candidate; an identical model keeps its version."""
    import mlflow

    run_tags = mlflow.get_run(scored["run_id"]).data.tags
    tags = {key: run_tags[key] for key in LINEAGE_TAGS}
    primary = f"test_{ctx.task.metrics.primary.name}"
    tags[primary] = f"{scored['scores'].flat()[primary]:.4f}"
    fed = ctx.task.example(data.splits["test"], 5)  # several rows: pt2 specialises a batch of one
    example = {key: value.numpy() for key, value in zip(ctx.task.inputs, fed, strict=True)}
    with mlflow.start_run(run_id=scored["run_id"]):
        return register_unless_known(
            scored["model"], ctx.paths.candidate(name), example, ctx.spec.registered_model, tags, ctx.task.dynamic_dims()
        )
