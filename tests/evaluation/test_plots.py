"""Plots are readable PNG files; plot data parses into the columns `dvc plots` expects."""

import csv

import numpy as np
import pytest

from mastery.evaluation import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_roc,
    write_plot_data,
)

FASHION = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def history():
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1 / e + (e - 3) ** 2 / 20,
            "train_accuracy": 1 - 0.5 / e,
            "val_accuracy": 0.8 - (e - 3) ** 2 / 100,
            "lr": 0.1 / e,
        }
        for e in range(1, 7)
    ]


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, len(FASHION), size=300)
    logits = rng.normal(size=(300, len(FASHION)))
    logits[np.arange(300), y_true] += 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y_true, probs


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000


def test_learning_curves_png(tmp_path, history):
    assert_png(plot_learning_curves(history, 3, tmp_path / "nested" / "curves.png"))


def test_learning_curves_without_validation(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e} for e in (1, 2, 3)]
    assert_png(plot_learning_curves(history, None, tmp_path / "curves.png"))


def test_confusion_matrix_png(tmp_path, predictions):
    y_true, probs = predictions
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (y_true, probs.argmax(axis=1)), 1)
    for normalize in (True, False):
        assert_png(plot_confusion_matrix(cm, FASHION, tmp_path / f"cm_{normalize}.png", normalize))


def test_roc_png_with_a_class_absent(tmp_path, predictions):
    y_true, probs = predictions
    y_true = np.where(y_true == 3, 4, y_true)
    assert_png(plot_roc(y_true, probs, FASHION, tmp_path / "roc.png"))


def test_plot_data_is_long_form_for_any_task_and_carries_the_figures(tmp_path, history):
    figure = tmp_path / "made" / "confusion_matrix.png"
    figure.parent.mkdir()
    figure.write_bytes(PNG_SIGNATURE)
    curve, copied = write_plot_data(tmp_path / "plots", history, [figure])
    with curve.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "metric", "split", "value"]
    paired = {key for key in history[0] if key.startswith(("train_", "val_"))}
    assert len(rows) == len(history) * len(paired)  # lr and epoch_seconds are not curves
    second_val_loss = next(r for r in rows if (r["epoch"], r["metric"], r["split"]) == ("2", "loss", "val"))
    assert float(second_val_loss["value"]) == pytest.approx(history[1]["val_loss"])
    assert copied == tmp_path / "plots" / "figures" / "confusion_matrix.png" and copied.read_bytes() == PNG_SIGNATURE
