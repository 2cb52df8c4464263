"""Seeded splits of raw data into train/val/test, and the tensors a model trains on.

How a split is cut is a strategy: `stratified` (by label) and `grouped` both keep identical
samples in one split, so a sample duplicated in the source never sits on both sides;
`temporal` cuts a series into contiguous stretches, test last, never shuffled. What a split
becomes is the modality's business (`mastery.modalities`): normalisation statistics for images, a
tokenizer for text, scaling for a series; each writes the arrays and a `stats.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mastery.config import SplitConfig
from mastery.data.content import content_hashes
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import DatasetInfo
from mastery.modalities import get_modality

SPLITS = ("train", "val", "test")
STATS = "stats.json"


def split_indices(raw: RawData, split: SplitConfig, strategy: str, seed: int, content: str) -> dict[str, np.ndarray]:
    """Row indices of each split under `strategy`; `content` names the array that identifies a sample."""
    if strategy == "temporal":
        return _temporal(raw.rows, split)
    labels = raw["label"] if strategy == "stratified" else np.zeros(raw.rows, dtype=int)
    return _grouped(content_hashes(raw[content]), labels, raw.source_split, split, seed)


def _grouped(hashes: np.ndarray, labels: np.ndarray, source_split: np.ndarray, split: SplitConfig,
             seed: int) -> dict[str, np.ndarray]:
    """Whole groups of identical samples to one split, in proportion within each label.

    A source's own test split is kept as test; otherwise `split.test` of each label is
    carved out. Validation is carved from what remains for training.
    """
    rng = np.random.default_rng(seed)
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    group_label = labels[first]
    group_split = np.where(source_split[first] == "test", "test", "train").astype("U5")
    if not (group_split == "test").any():
        _carve(group_split, group_label, "train", "test", split.test, rng)
    _carve(group_split, group_label, "train", "val", split.val, rng)
    sample_split = group_split[group]
    return {name: np.flatnonzero(sample_split == name) for name in SPLITS}


def _carve(assigned, labels, source: str, target: str, fraction: float, rng) -> None:
    for label in np.unique(labels):
        pool = np.flatnonzero((assigned == source) & (labels == label))
        take = rng.permutation(pool)[: round(fraction * len(pool))]
        assigned[take] = target


def _temporal(rows: int, split: SplitConfig) -> dict[str, np.ndarray]:
    """Contiguous stretches in time order: train, then val, then test at the end."""
    test = split.test_rows or round(split.test * rows)
    val = split.val_rows or round(split.val * (rows - test))
    order = np.arange(rows)
    return {"train": order[: rows - test - val], "val": order[rows - test - val : rows - test],
            "test": order[rows - test :]}


def write_splits(raw: RawData, info: DatasetInfo, spec, seed: int, out: Path, split: SplitConfig | None = None) -> dict:
    """Split `raw`, write each split's arrays and `stats.json`; returns the stats.

    `split` defaults to the spec's; its strategy to the dataset's.
    """
    split = split or spec.split
    modality = get_modality(raw.modality)
    strategy = split.strategy or info.split
    out.mkdir(parents=True, exist_ok=True)
    indices = split_indices(raw, split, strategy, seed, modality.content)
    stats = modality.prepare(raw, indices, info, spec, out)
    stats |= {"modality": raw.modality, "strategy": strategy, "classes": list(info.classes),
              "counts": {name: len(idx) for name, idx in indices.items()}, "seed": seed}
    (out / STATS).write_text(json.dumps(stats, indent=2) + "\n")
    return stats


@dataclass
class PreparedData:
    """Prepared splits as named tensors, kept whole in memory for fast batching, and the
    statistics prepare wrote (what a model needs to be built for them)."""

    splits: dict  # split name -> {array name -> tensor}
    stats: dict

    @classmethod
    def load(cls, directory: Path, splits: tuple[str, ...] = SPLITS) -> PreparedData:
        """All splits, or the named ones (monitoring reads only the held-out ones)."""
        directory = Path(directory)
        if not (directory / STATS).is_file():
            raise DataSourceError(f"{directory}: no prepared data; run `mastery prepare` first")
        stats = json.loads((directory / STATS).read_text())
        modality = get_modality(stats["modality"])
        loaded = {}
        for name in splits:
            files = sorted(directory.glob(f"{name}_*.npy"))
            arrays = {f.stem.removeprefix(f"{name}_"): np.load(f, allow_pickle=False) for f in files}
            loaded[name] = modality.tensors(arrays, stats)
        return cls(splits=loaded, stats=stats)
