"""Smaller training sets drawn from a split, for learning curves over the number of examples."""

from __future__ import annotations

import numpy as np


def balanced_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of `n` examples, as even across classes as `n` allows, in a seeded random order.

    Each example is ranked within its class in a random permutation; taking the lowest ranks
    first fills every class before any class gets a second helping. Smaller subsets of one
    seed are nested in larger ones, so a learning curve compares like with like.
    """
    labels = np.asarray(labels)
    if not 0 < n <= len(labels):
        raise ValueError(f"cannot take {n} examples from {len(labels)}")
    order = np.random.default_rng(seed).permutation(len(labels))
    rank = np.empty(len(labels), dtype=int)
    for label in np.unique(labels):
        members = order[labels[order] == label]
        rank[members] = np.arange(len(members))
    return order[np.argsort(rank[order], kind="stable")][:n]
