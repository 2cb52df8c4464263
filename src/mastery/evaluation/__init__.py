"""Metrics and plots of a trained model on held-out data.

Importing this package costs only numpy: scikit-learn and matplotlib load inside the
functions that need them, so the CLI and flows stay quick to start.
"""

from mastery.evaluation.metrics import classification_metrics, flat_metrics, metric_key
from mastery.evaluation.plot_data import write_plot_data
from mastery.evaluation.plots import plot_confusion_matrix, plot_learning_curves, plot_roc
from mastery.evaluation.scoring import ClassificationScores, score_model

__all__ = [
    "ClassificationScores",
    "classification_metrics",
    "flat_metrics",
    "metric_key",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_roc",
    "score_model",
    "write_plot_data",
]
