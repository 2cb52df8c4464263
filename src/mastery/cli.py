"""`mastery`: one command per pipeline step. Parsing, progress and exit codes only; the
steps live in `mastery.steps`, and heavy imports happen inside the commands."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer
from rich.console import Console

app = typer.Typer(help="Train, validate, track and ship the models of Deep Learning Mastery.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
PIPELINE = typer.Option("quickstart", "--pipeline", "-p", help="Pipeline spec: pipelines/<name>.yaml")


def _run(step: Callable, pipeline: str, **kwargs) -> dict:
    """Run a step, turning a MasteryError into its message and exit status 1."""
    from rich.markup import escape

    from mastery.errors import MasteryError
    from mastery.steps.context import load_context

    try:
        result = step(load_context(pipeline), **kwargs)
    except MasteryError as error:
        err_console.print(f"[bold red]{step.__name__} failed[/] ({pipeline}): {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print_json(json.dumps(result, default=str))
    return result


@app.command()
def models() -> None:
    """List the registered model families with their parameter counts (28x28 input, 10 classes)."""
    from mastery.models import build_model, list_models

    for name in list_models():
        count = sum(p.numel() for p in build_model(name).parameters())
        console.print(f"{name:<20} {count:>12,} parameters")


@app.command()
def ingest(pipeline: str = PIPELINE) -> None:
    """Copy the pipeline's dataset from its packaged source into data/<pipeline>/raw."""
    from mastery.steps.ingest import ingest as step

    _run(step, pipeline)


@app.command()
def validate(pipeline: str = PIPELINE) -> None:
    """Check the raw data with Great Expectations; fails fast, reports in reports/validation/."""
    from mastery.steps.validate import validate as step

    _run(step, pipeline)


@app.command()
def prepare(pipeline: str = PIPELINE) -> None:
    """Make seeded, content-disjoint train/val/test splits and normalisation statistics."""
    from mastery.steps.prepare import prepare as step

    _run(step, pipeline)


@app.command()
def train(pipeline: str = PIPELINE, progress: bool = typer.Option(True, help="Show a progress bar.")) -> None:
    """Train every candidate of the pipeline, logging each as an MLflow run."""
    from mastery.steps.train import train as step
    from mastery.training.progress import RichProgress

    _run(step, pipeline, callbacks=[RichProgress()] if progress else [])


@app.command()
def evaluate(pipeline: str = PIPELINE) -> None:
    """Score candidates on the test split, write metrics and plots, register the selected one."""
    from mastery.steps.evaluate import evaluate as step

    _run(step, pipeline)
