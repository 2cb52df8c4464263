"""The causal language-modelling task: random training windows, each token scored once, loss
in nats per token."""

import math

import pytest
import torch
import torch.nn.functional as F

from mastery.tasks import build_task
from mastery.tasks.language_model import random_windows, stream_of

STREAM = torch.arange(1000) % 97


def split_of(stream: torch.Tensor, context: int) -> dict:
    n = (len(stream) - 1) // context
    return {"tokens": stream[: n * context].view(n, context), "target": stream[1 : n * context + 1].view(n, context)}


def test_the_stream_is_recovered_from_its_windows():
    split = split_of(STREAM, 10)
    assert stream_of(split).tolist() == STREAM[: 99 * 10 + 1].tolist()


def test_training_windows_are_cut_afresh_at_any_offset_each_step():
    task, split = build_task("language_model", "corpus"), split_of(STREAM, 10)
    batches = list(task.train_batches(split, 8, 20, torch.Generator().manual_seed(0)))
    assert len(batches) == 20 and task.batches_per_epoch(split, 8) == math.ceil(990 / 80)
    starts = torch.cat([b["tokens"][:, 0] for b in batches])
    assert len(set((starts % 10).tolist())) > 5  # not only the prepared windows' starts
    for batch in batches:
        assert batch["tokens"].shape == batch["target"].shape == (8, 10)
        assert torch.equal(batch["tokens"][:, 1:], batch["target"][:, :-1])  # the target is the next token
        assert torch.equal((batch["tokens"][:, 0:1] + torch.arange(10)) % 97, batch["tokens"])  # contiguous cuts
    again = list(task.train_batches(split, 8, 20, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a["tokens"], b["tokens"]) for a, b in zip(batches, again))


def test_the_loss_is_nats_per_token_and_the_scores_agree():
    task, split = build_task("language_model", "corpus"), split_of(STREAM, 10)
    logits = torch.randn(*split["target"].shape, 97, generator=torch.Generator().manual_seed(1))
    loss = task.loss(logits, split)
    assert loss.item() == pytest.approx(F.cross_entropy(logits.reshape(-1, 97), split["target"].reshape(-1)).item())
    assert task.count(split) == 990
    scores = task.score(logits, split, {})
    flat = scores.flat()
    assert flat["test_loss"] == pytest.approx(loss.item(), rel=1e-6)
    assert flat["test_perplexity"] == pytest.approx(math.exp(loss.item()), rel=1e-6)
    assert flat["test_bits_per_char"] == pytest.approx(loss.item() / math.log(2), rel=1e-6)
    assert scores.per_example("loss").mean() == pytest.approx(flat["test_loss"])  # windows of one length
    perfect = F.one_hot(split["target"], 97).float() * 50
    assert task.score(perfect, split, {}).flat()["test_accuracy"] == 1.0


def test_random_windows_stay_inside_the_stream():
    windows = random_windows(torch.arange(12), 11, 50, torch.Generator().manual_seed(0))
    assert windows["tokens"][:, 0].max() == 0 and windows["target"][:, -1].min() == 11  # only one fits
