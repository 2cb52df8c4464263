"""Generate: text sampled from a pipeline's registered language model (its champion by default)."""

from __future__ import annotations

from mastery.errors import MasteryError
from mastery.steps.context import Context
from mastery.tracking import aliases
from mastery.tracking.mlflow_runs import use_store
from mastery.tracking.registry import load_version


def generate(ctx: Context, prompt: str = "\n", tokens: int = 500, temperature: float = 0.8, top_k: int | None = None,
             seed: int = 0, version: str = aliases.CHAMPION) -> dict:
    """`prompt` continued by `tokens` characters of the model at `version` (a number or an alias)."""
    from mlflow.exceptions import MlflowException

    from mastery.tasks.language_model import sample_text

    use_store(ctx.params.tracking)
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
