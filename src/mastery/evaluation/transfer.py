"""The transfer-learning comparison as a person reads it: accuracy by mode and number of examples."""

from __future__ import annotations

from pathlib import Path

from mastery.evaluation.tables import markdown_table

MODES = {"scratch": "scratch", "feature_extraction": "feature extraction", "fine_tuning": "fine-tuning"}  # name: label


def transfer_table(results: list[dict]) -> str:
    """One row per number of target examples: each mode's test accuracy, and what the better
    transfer mode gains over training from scratch."""
    by_size: dict[int, dict[str, float]] = {}
    for result in results:
        by_size.setdefault(result["examples"], {})[result["mode"]] = result["test_accuracy"]
    rows = []
    for examples, accuracy in sorted(by_size.items()):
        gain = max(accuracy["feature_extraction"], accuracy["fine_tuning"]) - accuracy["scratch"]
        rows.append([f"{examples:,}", *(f"{accuracy[mode]:.4f}" for mode in MODES), f"{gain:+.4f}"])
    columns = ["target examples", *MODES.values(), "transfer - scratch"]
    return markdown_table(columns, rows)


def write_transfer_table(results: list[dict], path: Path, title: str, note: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{note}\n\n" + transfer_table(results))
    return path
