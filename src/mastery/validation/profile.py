"""The tables GX validates: samples profiled per row (by their modality's `profile`, the one
the server's prediction log also records), labels per class."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mastery.data.raw import RawData
from mastery.modalities import get_modality


def sample_profile(raw: RawData) -> pd.DataFrame:
    """One row per sample: its origin, label, the modality's profile columns, cross-split count.

    `splits_with_hash` counts the source splits holding the sample's content, so a sample
    shared between train and test shows as 2 while duplicates inside one split stay 1.
    """
    modality = get_modality(raw.modality)
    columns = {"index": np.arange(raw.rows), "source_split": raw.source_split}
    if "label" in raw.arrays:
        columns["label"] = raw["label"]
    table = pd.DataFrame(columns | modality.profile(raw[modality.content]))
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
