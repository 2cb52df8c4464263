"""PNG reports a person reads: learning curves, confusion matrix, ROC curves, gradient flow.

Figures are built as `matplotlib.figure.Figure` objects rendered by Agg, never through
pyplot's global state, so plotting works headless and from parallel flow tasks, and no
figure outlives its function.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

_DPI = 120


def plot_learning_curves(history: list[dict], kept: int | None, path: str | Path) -> Path:
    """Train vs validation for loss and each other `train_X`/`val_X` metric, one panel each.

    Side by side, a widening gap shows overfitting and two high, flat losses underfitting;
    the dotted line marks `kept`, the epoch whose weights the trainer kept (by its monitor).
    """
    if not history:
        raise ValueError("history is empty: nothing to plot")
    names = _paired_metrics(history)
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    best = kept
    fig, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        for split in ("train", "val"):
            values = [row.get(f"{split}_{name}", np.nan) for row in history]
            if not np.isnan(np.asarray(values, dtype=float)).all():
                ax.plot(epochs, values, marker=".", label=split)
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", label=f"kept (epoch {best})")
        ax.set(title=name.replace("_", " "), xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def plot_confusion_matrix(
    cm: np.ndarray | list, class_names: Sequence[str], path: str | Path, normalize: bool = True
) -> Path:
    """Rows are true classes; each cell shows its count, coloured by share of its row.

    Normalising by row puts a rare class's mistakes on the same scale as a common one's.
    """
    cm = np.asarray(cm)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    k = len(class_names)
    side = max(5.0, 0.6 * k + 2.5)
    fig, [ax] = _figure(1, size=(side + 1, side))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of true class" if normalize else "count")
    threshold = rates.max() / 2
    for (i, j), count in np.ndenumerate(cm):
        if count:
            text = f"{count}\n{rates[i, j]:.0%}" if normalize else f"{count}"
            colour = "white" if rates[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), class_names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    return _save(fig, path)


def plot_roc(
    y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str], path: str | Path
) -> Path:
    """One-vs-rest ROC per class present in `y_true`, plus their macro average."""
    from sklearn.metrics import auc, roc_curve

    y_true, probs = np.asarray(y_true), np.asarray(probs)
    present = np.unique(y_true)
    if len(present) < 2:
        raise ValueError("ROC needs at least two classes present in y_true")
    grid = np.linspace(0, 1, 201)
    fig, [ax] = _figure(1, size=(7, 6))
    colours = _colours(len(class_names))
    tprs, aucs = [], []
    for k in present:
        fpr, tpr, _ = roc_curve(y_true == k, probs[:, k])
        aucs.append(auc(fpr, tpr))
        tprs.append(np.interp(grid, fpr, tpr))
        ax.plot(fpr, tpr, color=colours[k], lw=1, label=f"{class_names[k]} ({aucs[-1]:.3f})")
    macro = np.mean(tprs, axis=0)
    ax.plot(grid, macro, color="black", lw=2.5, label=f"macro ({np.mean(aucs):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, one vs rest")
    ax.legend(title="class (AUC)", loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _paired_metrics(history: list[dict]) -> list[str]:
    """`loss` first, then every other metric logged for train or val, in first-seen order."""
    names = dict.fromkeys(
        key.split("_", 1)[1] for row in history for key in row if key.startswith(("train_", "val_"))
    )
    return sorted(names, key=lambda name: name != "loss")


def plot_gradient_flow(curves: dict[str, np.ndarray], path: str | Path) -> Path:
    """Each recurrence's gradient by steps back from the last token, on a log scale, where a
    vanishing gradient is a straight line down."""
    fig, [ax] = _figure(1, size=(6.5, 4.0))
    for label, curve in curves.items():
        ax.semilogy(np.arange(len(curve)), curve, marker=".", label=label)
    ax.set(title="How far back the gradient of the last state reaches", xlabel="steps before the last token",
           ylabel="mean |d h_T / d x_t|")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, path)


def _figure(panels: int, size: tuple[float, float] | None = None):
    from matplotlib.figure import Figure

    cols = min(panels, 3)
    rows = -(-panels // cols)
    fig = Figure(figsize=size or (4.5 * cols, 3.5 * rows), layout="constrained")
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for spare in axes[panels:]:
        spare.remove()
    return fig, axes[:panels]


def _colours(n: int) -> list:
    from matplotlib import colormaps

    return [colormaps["tab10" if n <= 10 else "tab20"](i % 20) for i in range(n)]


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def plot_saliency(
    images, maps, labels, predicted, class_names: Sequence[str], title: str, path: str | Path
) -> Path:
    """Each image above its map overlaid in colour, titled true / predicted class."""
    from matplotlib.figure import Figure

    n = len(images)
    fig = Figure(figsize=(1.6 * n, 3.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        image = np.asarray(images[i])
        axes[0, i].imshow(image, cmap="gray")
        axes[0, i].set_title(f"{class_names[int(labels[i])]}\n-> {class_names[int(predicted[i])]}", fontsize=8)
        axes[1, i].imshow(image, cmap="gray")
        axes[1, i].imshow(np.asarray(maps[i]), cmap="jet", alpha=0.5, vmin=0, vmax=1)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle(f"{title} (true -> predicted)")
    return _save(fig, path)


def plot_accuracy_vs_examples(results: list[dict], labels: dict[str, str], path: str | Path) -> Path:
    """Test accuracy against the number of training examples, one line per mode (log x axis)."""
    fig, [ax] = _figure(1, size=(6, 4.5))
    for mode, label in labels.items():
        points = sorted((r["examples"], r["test_accuracy"]) for r in results if r["mode"] == mode)
        ax.plot(*zip(*points), marker="o", label=label)
    ax.set(xscale="log", xlabel="target training examples", ylabel="test accuracy", title="transfer learning")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)
