"""Metrics against answers derived by hand or by independent computation."""

import json

import numpy as np
import pytest

from mastery.evaluation import classification_metrics, flat_metrics, metric_key

NAMES = ["T-shirt/top", "Trouser", "Ankle boot"]


def one_hot_probs(y_pred, k=3, confidence=0.8):
    """Softmax-like rows whose argmax is `y_pred`."""
    probs = np.full((len(y_pred), k), (1 - confidence) / (k - 1))
    probs[np.arange(len(y_pred)), y_pred] = confidence
    return probs


def rank_auc(positive, scores):
    """Mann-Whitney AUC: the share of (positive, negative) pairs ranked correctly, ties half."""
    pos, neg = scores[positive], scores[~positive]
    return ((pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean()).item()


def random_probs(n, k, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_perfect_predictions_score_one():
    y = np.array([0, 1, 2, 2, 1, 0])
    m = classification_metrics(y, one_hot_probs(y), NAMES)
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_ovr"):
        assert m[key] == 1.0
    assert m["confusion_matrix"] == np.diag([2, 2, 2]).tolist()
    assert m["absent_classes"] == []


def test_known_confusion_matches_counts():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0])
    cm = np.zeros((3, 3), int)
    np.add.at(cm, (y_true, y_pred), 1)
    precision, recall = cm.diagonal() / cm.sum(axis=0), cm.diagonal() / cm.sum(axis=1)
    f1 = 2 * precision * recall / (precision + recall)

    m = classification_metrics(y_true, one_hot_probs(y_pred), NAMES)

    assert m["confusion_matrix"] == cm.tolist()
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["precision_macro"] == pytest.approx(precision.mean())
    assert m["recall_macro"] == pytest.approx(recall.mean())
    assert m["f1_macro"] == pytest.approx(f1.mean())
    for k, name in enumerate(NAMES):
        assert m["per_class"][name]["support"] == cm[k].sum()
        assert m["per_class"][name]["f1"] == pytest.approx(f1[k])


def test_roc_auc_is_macro_one_vs_rest():
    y = np.random.default_rng(1).integers(0, 4, size=200)
    probs = random_probs(200, 4)
    m = classification_metrics(y, probs, list("abcd"))
    aucs = [rank_auc(y == k, probs[:, k]) for k in range(4)]
    assert [m["per_class"][c]["roc_auc"] for c in "abcd"] == pytest.approx(aucs)
    assert m["roc_auc_ovr"] == pytest.approx(np.mean(aucs))


def test_class_absent_from_y_true_is_reported_and_left_out_of_macros():
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    probs = random_probs(len(y), 3, seed=2)
    m = classification_metrics(y, probs, NAMES)
    y_pred = probs.argmax(axis=1)
    recalls = [(y_pred[y == k] == k).mean() for k in (0, 1)]

    assert m["absent_classes"] == ["Ankle boot"]
    assert m["per_class"]["Ankle boot"] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "support": 0,
        "roc_auc": None,
    }
    assert m["recall_macro"] == pytest.approx(np.mean(recalls))
    assert m["roc_auc_ovr"] == pytest.approx(
        np.mean([rank_auc(y == k, probs[:, k]) for k in (0, 1)])
    )
    assert np.sum(m["confusion_matrix"]) == len(y)
    json.dumps(m)


def test_single_class_has_no_auc_but_does_not_crash():
    y = np.zeros(4, int)
    m = classification_metrics(y, random_probs(4, 3), NAMES)
    assert m["roc_auc_ovr"] is None
    assert "test_roc_auc_ovr" not in flat_metrics(m)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="probs"):
        classification_metrics(np.array([0, 1]), random_probs(3, 3), NAMES)
    with pytest.raises(ValueError, match="labels"):
        classification_metrics(np.array([0, 5]), random_probs(2, 3), NAMES)


def test_flat_metrics_are_floats_with_key_safe_class_names():
    y = np.array([0, 1, 2, 0])
    flat = flat_metrics(classification_metrics(y, random_probs(4, 3), NAMES), prefix="val_")
    assert set(flat) == {
        "val_accuracy",
        "val_precision_macro",
        "val_recall_macro",
        "val_f1_macro",
        "val_roc_auc_ovr",
        "val_f1/t_shirt_top",
        "val_f1/trouser",
        "val_f1/ankle_boot",
    }
    assert all(type(v) is float for v in flat.values())
    headline = flat_metrics(classification_metrics(y, random_probs(4, 3), NAMES), "val_", per_class=False)
    assert set(headline) == {k for k in flat if "/" not in k}


def test_metric_key_collisions_are_refused():
    y = np.array([0, 1])
    m = classification_metrics(y, random_probs(2, 2), ["a b", "a-b"])
    assert metric_key("a b") == metric_key("a-b")
    with pytest.raises(ValueError, match="collides"):
        flat_metrics(m)
