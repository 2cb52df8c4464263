"""Per-sample profiles of arrays (what validation checks and the prediction log records) and
the tables GX validates: image arrays profiled per sample and per class."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mastery.data.prepare import content_hashes
from mastery.data.raw import RawData


def shape_name(shape: tuple[int, ...]) -> str:
    """A sample shape as one comparable string, e.g. "1x28x28"."""
    return "x".join(str(d) for d in shape)


def image_profile(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample columns of a batch of images (N, C, H, W): shape, dtype, pixel statistics
    and content hash.

    The one definition both sides use: validation profiles raw data with it, the server's
    prediction log profiles what it was sent, so monitoring compares like with like.
    Columns, not a table: the server profiles every request and a DataFrame costs more than
    the statistics.
    """
    images = np.asarray(images)
    flat = images.reshape(len(images), -1)
    nan = np.isnan(flat)
    with np.errstate(invalid="ignore"):  # an all-NaN sample has no mean: NaN, and nan_count flags it
        mean = np.where(nan, 0, flat).sum(axis=1, dtype=np.float64) / (flat.shape[1] - nan.sum(axis=1))
    return {
        "shape": np.full(len(flat), shape_name(images.shape[1:])),
        "dtype": np.full(len(flat), str(images.dtype)),
        "min": np.fmin.reduce(flat, axis=1),  # fmin/fmax skip NaN
        "max": np.fmax.reduce(flat, axis=1),
        "mean": mean,
        "nan_count": nan.sum(axis=1),
        "inf_count": np.isinf(flat).sum(axis=1),
        "content_hash": content_hashes(images),
    }


# Per-sample profiles by modality: a model's serving contract names the one its inputs get.
PROFILES = {"image": image_profile}


def sample_profile(raw: RawData) -> pd.DataFrame:
    """One row per sample: its origin, label, `image_profile` columns and cross-split count.

    `splits_with_hash` counts the source splits holding the sample's content, so a sample
    shared between train and test shows as 2 while duplicates inside one split stay 1.
    """
    table = pd.DataFrame(
        {
            "index": np.arange(len(raw.images)),
            "source_split": raw.source_split,
            "label": raw.labels,
            **image_profile(raw.images),
        }
    )
    table["splits_with_hash"] = table.groupby("content_hash")["source_split"].transform("nunique")
    return table


def class_profile(labels: np.ndarray, num_classes: int) -> pd.DataFrame:
    """One row per expected class (an absent class counts 0) and per unexpected label seen.

    Indexed by label, as the sample table is by sample index: GX reports offending rows by index.
    """
    counts = pd.Series(labels).value_counts()
    counts = counts.reindex(counts.index.union(range(num_classes)), fill_value=0)
    return pd.DataFrame(
        {"label": counts.index, "count": counts, "fraction": counts / max(len(labels), 1)}
    ).rename_axis(None)
