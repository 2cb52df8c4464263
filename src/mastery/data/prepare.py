"""Seeded, content-disjoint train/val/test splits and the normalisation statistics of train."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mastery.config import SplitConfig
from mastery.data.raw import DataSourceError, RawData

SPLITS = ("train", "val", "test")


def content_hashes(images: np.ndarray) -> np.ndarray:
    """A short digest per sample: equal images get equal hashes, whatever their index."""
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=8).hexdigest() for row in flat])


def split_indices(raw: RawData, split: SplitConfig, seed: int) -> dict[str, np.ndarray]:
    """Assign whole groups of identical images to one split, stratified by label.

    A source's own test split is kept as test; otherwise `split.test` of each class is
    carved out. Validation is carved from what remains for training. Grouping by content
    means an image duplicated in the source can never sit on both sides of a split.
    """
    rng = np.random.default_rng(seed)
    hashes = content_hashes(raw.images)
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    group_label = raw.labels[first]
    group_split = np.where(raw.source_split[first] == "test", "test", "train").astype("U5")
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


def write_splits(raw: RawData, split: SplitConfig, seed: int, pixel_max: int, out: Path) -> dict:
    """Write each split's arrays and `stats.json` (per-channel mean/std of train in [0, 1])."""
    out.mkdir(parents=True, exist_ok=True)
    indices = split_indices(raw, split, seed)
    for name, idx in indices.items():
        np.save(out / f"{name}_images.npy", raw.images[idx])
        np.save(out / f"{name}_labels.npy", raw.labels[idx])
    train = raw.images[indices["train"]].astype(np.float64) / pixel_max
    stats = {
        "mean": train.mean(axis=(0, 2, 3)).tolist(),
        "std": train.std(axis=(0, 2, 3)).tolist(),
        "pixel_max": pixel_max,
        "counts": {name: len(idx) for name, idx in indices.items()},
        "seed": seed,
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats


@dataclass
class PreparedData:
    """Prepared splits as float tensors in [0, 1], kept whole in memory for fast batching."""

    splits: dict  # name -> (images float32 (N, C, H, W), labels int64 (N,))
    mean: list[float]
    std: list[float]

    @classmethod
    def load(cls, directory: Path) -> PreparedData:
        import torch

        directory = Path(directory)
        stats_file = directory / "stats.json"
        if not stats_file.is_file():
            raise DataSourceError(f"{directory}: no prepared data; run `mastery prepare` first")
        stats = json.loads(stats_file.read_text())
        splits = {}
        for name in SPLITS:
            images = np.load(directory / f"{name}_images.npy")
            labels = np.load(directory / f"{name}_labels.npy")
            x = torch.from_numpy(images).float().div_(stats["pixel_max"])
            splits[name] = (x, torch.from_numpy(labels).long())
        return cls(splits=splits, mean=stats["mean"], std=stats["std"])
