"""Generate: text sampled from a pipeline's registered language model, or a grid of images drawn
by its registered generator (the champion by default)."""

from __future__ import annotations

from pathlib import Path

from mastery.errors import MasteryError
from mastery.steps.context import Context
from mastery.tracking import aliases
from mastery.tracking.mlflow_runs import use_store
from mastery.tracking.registry import load_version


def generate(ctx: Context, count: int | None = None, seed: int = 0, version: str = aliases.CHAMPION,
             prompt: str = "\n", temperature: float = 0.8, top_k: int | None = None,
             label: int | None = None, out: Path | None = None) -> dict:
    """`count` images of class `label` from a generator's pipeline (16 by default), else `count`
    characters continuing `prompt` from a language model's (500 by default); the same seed
    draws the same result from the same model."""
    use_store(ctx.params.tracking)
    if ctx.spec.task.name == "gan":
        return draw(ctx, label, count or 16, seed, version, out)
    return write(ctx, prompt, count or 500, temperature, top_k, seed, version)


def write(ctx: Context, prompt: str, tokens: int, temperature: float, top_k: int | None, seed: int,
          version: str) -> dict:
    """`prompt` continued by `tokens` characters of the model at `version` (a number or an alias)."""
    from mlflow.exceptions import MlflowException

    from mastery.tasks.language_model import sample_text

    name = ctx.spec.registered_model
    try:
        model, meta, found = load_version(name, version)
    except MlflowException as error:
        raise MasteryError(f"{name}@{version}: no such model version; run the pipeline or `mastery promote` first "
                           f"({error.message})") from None
    if meta["task"] != "language_model":
        raise MasteryError(f"{name} v{found.version} is a {meta['task']} model: only a language model generates")
    text = sample_text(model, meta, prompt, tokens, temperature, top_k, seed)
    return {"model": name, "version": int(found.version), "prompt": prompt, "temperature": temperature,
            "top_k": top_k, "seed": seed, "text": text}


def draw(ctx: Context, label: int | None, count: int, seed: int, version: str, out: Path | None) -> dict:
    """A grid of `count` images from the served export of the generator at `version`: the ONNX
    file the server answers with, verified against its registered digest. A conditional
    generator draws class `label` (every class in turn when None); the noise is seeded."""
    import numpy as np
    import torch

    from mastery.evaluation.generative import plot_sample_grid
    from mastery.serving.model import ModelSource, champion_version, load_served

    source = ModelSource(ctx.spec.registered_model, ctx.paths.exports)
    number = champion_version(source.name) if version == aliases.CHAMPION else version
    if number is None:
        raise MasteryError(f"'{source.name}' has no champion yet: run the pipeline (up to `mastery export`) first")
    served = load_served(source, number)
    specs = {spec.name: spec for spec in served.contract.inputs}
    feeds = {"noise": np.random.default_rng(seed).standard_normal((count, specs["noise"].shape[1]), dtype=np.float32)}
    if "label" in specs:
        feeds["label"] = _labels(label, count, served.contract.classes)
    elif label is not None:
        raise MasteryError(f"{source.name} v{number} is unconditional: it draws no class; leave out --label")
    images = torch.from_numpy(served.run(feeds)[served.contract.outputs[0].name])
    path = out or ctx.paths.reports / "generated" / f"{'all' if label is None else f'label-{label}'}-seed-{seed}.png"
    plot_sample_grid(images, path)
    return {"model": source.name, "version": int(number), "label": label, "count": count, "seed": seed,
            "path": str(path), "onnx_sha256": served.sha256}


def _labels(label: int | None, count: int, classes: tuple[str, ...]):
    import numpy as np

    if label is None:
        return np.arange(count, dtype=np.int64) % len(classes)
    if not 0 <= label < len(classes):
        raise MasteryError(f"--label {label}: the generator draws classes 0..{len(classes) - 1} ({', '.join(classes)})")
    return np.full(count, label, dtype=np.int64)
