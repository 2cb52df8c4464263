"""Model registry, as in timm: `@register_model` fills it, `build_model` and `list_models` read it."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_MODALITIES: dict[str, str] = {}  # model name -> the modality whose inputs it reads
_TASKS: dict[str, str] = {}  # model name -> the task whose outputs it gives


def register_model(builder: Callable[..., nn.Module] | None = None, *, modality: str = "image",
                   task: str = "classification"):
    """Register a builder under its function name; a duplicate name is a bug, not an override.

    Bare (`@register_model`) for a classifier of images; `@register_model(modality="text")` for
    one that reads another modality's inputs, `task="reconstruction"` for one that gives
    another task's outputs, so zoo tests and `mastery models` build each family for inputs it
    can read and check the outputs it gives.
    """
    def register(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model '{name}' is already registered")
        _MODELS[name], _MODALITIES[name], _TASKS[name] = builder, modality, task
        return builder

    return register if builder is None else register(builder)


def build_model(name: str, **params) -> nn.Module:
    """Build a registered model; unknown names and unknown params fail with what is allowed."""
    _load_families()
    if name not in _MODELS:
        raise KeyError(f"unknown model '{name}'; registered: {list_models()}")
    try:
        return _MODELS[name](**params)
    except TypeError as error:
        raise TypeError(f"model '{name}': {error}") from error


def list_models(modality: str | None = None, task: str | None = None) -> list[str]:
    """The registered names, or those that read one modality or give one task's outputs."""
    _load_families()
    return sorted(name for name in _MODELS if modality in (None, _MODALITIES[name]) and task in (None, _TASKS[name]))


def _load_families() -> None:
    # each module registers its builders on import
    from mastery.models import (  # noqa: F401
        alexnet,
        autoencoder,
        bert,
        clustering,
        convnet,
        dcgan,
        efficientnet,
        ensemble,
        gpt,
        harmonic,
        lenet,
        linear_forecast,
        mlp,
        ngram,
        recurrent_forecast,
        resnet,
        rnn,
        vae,
        vgg,
        vit,
    )
