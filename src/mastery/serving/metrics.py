"""Prometheus metrics at `/metrics`: HTTP request counts and latency histograms from
prometheus-fastapi-instrumentator, plus which model version serves and what it predicted.

Each app has its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mastery.serving.model import ServedModel


class ServingMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        self._model = Gauge(
            "mastery_model_info", "The model version being served (1) with its ONNX sha256",
            ["model", "version", "sha256"], registry=self.registry,
        )
        self._examples = Counter(
            "mastery_predicted_examples", "Examples predicted, by the model version that answered",
            ["model", "version"], registry=self.registry,
        )
        self._swaps = Counter("mastery_model_swaps", "Hot swaps to a new champion", ["model"], registry=self.registry)

    def instrument(self, app: FastAPI) -> None:
        from prometheus_fastapi_instrumentator import Instrumentator

        Instrumentator(
            registry=self.registry,
            should_group_status_codes=False,  # 413 and 422 are different stories
            excluded_handlers=["/metrics"],
        ).instrument(app).expose(app, include_in_schema=False)

    def serving(self, model: ServedModel) -> None:
        self._model.labels(model.name, model.version, model.sha256).set(1)

    def swapped(self, old: ServedModel, new: ServedModel) -> None:
        self._model.remove(old.name, old.version, old.sha256)
        self.serving(new)
        self._swaps.labels(new.name).inc()

    def predicted(self, model: ServedModel, examples: int) -> None:
        self._examples.labels(model.name, model.version).inc(examples)
