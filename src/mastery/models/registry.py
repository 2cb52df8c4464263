"""Model registry, as in timm: `@register_model` fills it, `build_model` and `list_models` read it."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a builder under its function name; a duplicate name is a bug, not an override."""
    name = builder.__name__
    if name in _MODELS:
        raise ValueError(f"model '{name}' is already registered")
    _MODELS[name] = builder
    return builder


def build_model(name: str, **params) -> nn.Module:
    """Build a registered model; unknown names and unknown params fail with what is allowed."""
    _load_families()
    if name not in _MODELS:
        raise KeyError(f"unknown model '{name}'; registered: {list_models()}")
    try:
        return _MODELS[name](**params)
    except TypeError as error:
        raise TypeError(f"model '{name}': {error}") from error


def list_models() -> list[str]:
    _load_families()
    return sorted(_MODELS)


def _load_families() -> None:
    # each module registers its builders on import
    from mastery.models import alexnet, convnet, efficientnet, harmonic, lenet, linear_forecast, mlp, recurrent_forecast, resnet, vgg, vit  # noqa: F401
