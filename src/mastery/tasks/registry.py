"""Task registry: `@register_task` fills it, `build_task` reads it (as the model registry does)."""

from __future__ import annotations

from mastery.config import TaskConfig
from mastery.errors import MasteryError

_TASKS: dict[str, type] = {}


def register_task(cls: type) -> type:
    if cls.name in _TASKS:
        raise ValueError(f"task '{cls.name}' is already registered")
    _TASKS[cls.name] = cls
    return cls


def build_task(name: str, modality: str, config: TaskConfig | None = None):
    """The task `name` for data of `modality` (its inputs depend on it: images, token ids, windows),
    under the spec's task settings (`config`; the defaults when None)."""
    _load_tasks()
    if name not in _TASKS:
        raise MasteryError(f"unknown task '{name}'; tasks: {', '.join(list_tasks())}")
    return _TASKS[name](modality, config or TaskConfig(name))


def list_tasks() -> list[str]:
    _load_tasks()
    return sorted(_TASKS)


def _load_tasks() -> None:
    from mastery.tasks import (  # noqa: F401  (each module registers its task)
        classification,
        clustering,
        forecast,
        gan,
        language_model,
        masked_lm,
        reconstruction,
        vae,
    )
