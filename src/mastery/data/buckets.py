"""Batches of texts of about one length: little padding for a recurrence to run over, yet an
epoch is still a fresh random order."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Generator, Tensor

POOL_BATCHES = 50  # batches drawn at random, then sorted by length and cut


def length_buckets(lengths: Tensor, batch_size: int, generator: Generator, pool_batches: int = POOL_BATCHES) -> list[Tensor]:
    """Every example's index once, in batches of similar lengths, the batches in random order.

    A random pool of `pool_batches` batches is sorted by length and cut into batches, so each
    batch pads to little more than its shortest text; pooling (rather than sorting the whole
    split) keeps which texts share a batch random from epoch to epoch.
    """
    order = torch.randperm(len(lengths), generator=generator).to(lengths.device)
    batches = []
    for pool in order.split(batch_size * pool_batches):
        pool = pool[torch.argsort(lengths[pool], stable=True)]
        batches += list(pool.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def trim_padding(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The batch's per-token arrays (`tokens`, a masked LM's `target`) cut to its longest text:
    a split is padded to its longest."""
    longest, steps = int(batch["lengths"].max()), batch["tokens"].shape[1]
    return {key: value[:, :longest] if value.ndim > 1 and value.shape[1] == steps else value
            for key, value in batch.items()}


def bucketed_batches(split: dict[str, Tensor], batch_size: int, batches: int, generator: Generator) -> Iterator[dict[str, Tensor]]:
    """`batches` batches of texts of about one length (`length_buckets`), each cut to its longest text."""
    for index in length_buckets(split["lengths"], batch_size, generator)[:batches]:
        yield trim_padding({key: value[index] for key, value in split.items()})
