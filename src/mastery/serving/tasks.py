"""What a served task returns: its postprocessing, its response schema and its log columns.

The one place that knows tasks: a new task adds an entry to `TASKS`; the app, the request
schema and the prediction log stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from mastery.evaluation.anomaly import reconstruction_errors
from mastery.export.contract import Contract


class ClassPrediction(BaseModel):
    class_index: int = Field(description="Index of the most probable class")
    class_name: str = Field(description="Its name, from the model's contract")
    confidence: float = Field(description="Its probability (softmax of the logits)")
    probabilities: list[float] = Field(description="Probability of every class, in class order")


class ReconstructionPrediction(BaseModel):
    reconstruction: list[list[list[float]]] = Field(description="The image the model drew back, (C, H, W) pixels in [0, 1]")


class GeneratedImage(BaseModel):
    image: list[list[list[float]]] = Field(description="The image the generator drew from the noise (and class) sent, (C, H, W) pixels in [0, 1]")


class ForecastPrediction(BaseModel):
    forecast: list[float] = Field(description="The target at each step of the horizon, from the step after the history's last")


Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Outputs:
    """A batch's answer: one response item per example, and the prediction log's columns."""

    items: list[dict]
    log_columns: dict[str, np.ndarray]


@dataclass(frozen=True)
class Task:
    item: type[BaseModel]  # the response schema of one example
    postprocess: Callable[[Contract, Arrays, Arrays], Outputs]  # named model inputs, outputs -> answer
    drift: dict[str, str] = field(default_factory=dict)  # log columns monitoring compares: "num" | "cat"


def classify(contract: Contract, inputs: Arrays, outputs: Arrays) -> Outputs:
    """Softmax over the logits -> class index, name, confidence and probabilities."""
    logits = outputs[contract.outputs[0].name].astype(np.float64)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    index = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), index]
    names = [contract.classes[i] for i in index]
    items = [
        {"class_index": i, "class_name": n, "confidence": c, "probabilities": p}
        for i, n, c, p in zip(index.tolist(), names, confidence.tolist(), probs.tolist())
    ]
    columns = {"predicted_class": index, "predicted_label": np.array(names), "confidence": confidence}
    return Outputs(items, columns)


def forecast(contract: Contract, inputs: Arrays, outputs: Arrays) -> Outputs:
    """The horizon's values as they are; the log keeps each forecast's mean."""
    values = outputs[contract.outputs[0].name].astype(np.float64)  # (B, H)
    return Outputs([{"forecast": row} for row in values.tolist()], {"forecast_mean": values.mean(axis=1)})


def reconstruct(contract: Contract, inputs: Arrays, outputs: Arrays) -> Outputs:
    """The images as they are; the log keeps each one's mean pixel and its reconstruction error
    against what was sent: the anomaly score, high on images unlike the training data's."""
    images = outputs[contract.outputs[0].name].astype(np.float64)  # (B, C, H, W)
    sent = inputs[contract.inputs[0].name]
    return Outputs([{"reconstruction": image} for image in images.tolist()],
                   {"reconstruction_mean": mean_pixels(images), "reconstruction_error": reconstruction_errors(sent, images)})


def generate(contract: Contract, inputs: Arrays, outputs: Arrays) -> Outputs:
    """The generator's images as they are; the log keeps each one's mean pixel (a broken or
    collapsing generator moves it)."""
    images = outputs[contract.outputs[0].name].astype(np.float64)  # (B, C, H, W)
    return Outputs([{"image": image} for image in images.tolist()], {"image_mean": mean_pixels(images)})


def mean_pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).mean(axis=1)


TASKS = {
    "classification": Task(ClassPrediction, classify, drift={"predicted_class": "cat", "confidence": "num"}),
    "forecast": Task(ForecastPrediction, forecast, drift={"forecast_mean": "num"}),
    "reconstruction": Task(ReconstructionPrediction, reconstruct,
                           drift={"reconstruction_mean": "num", "reconstruction_error": "num"}),
    "gan": Task(GeneratedImage, generate, drift={"image_mean": "num"}),
}
