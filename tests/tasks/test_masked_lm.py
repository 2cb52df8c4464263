"""The masked language-modelling task: dynamic 80/10/10 masking of real tokens only, held-out
splits masked once whatever the batch size, and scores that agree with the trainer's."""

import math

import pytest
import torch

from mastery.config import OptimizerConfig, TrainConfig
from mastery.modalities.text import MASK_ID
from mastery.models.registry import build_model
from mastery.tasks import build_task
from mastery.tasks.masked_lm import IGNORED, mask_tokens, masked_split
from mastery.training.inference import predict
from mastery.training.trainer import Trainer

VOCAB = 50


def texts(n: int = 400, steps: int = 30, seed: int = 0) -> dict:
    """Padded texts of ids 3.. of varied lengths (0 pads, as prepare writes them)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (n,), generator=g)
    tokens = torch.randint(3, VOCAB, (n, steps), generator=g)
    tokens[torch.arange(steps)[None, :] >= lengths[:, None]] = 0
    return {"tokens": tokens, "lengths": lengths, "label": torch.zeros(n, dtype=torch.long)}


def test_fifteen_percent_of_real_tokens_are_hidden_eighty_ten_ten():
    batch = texts(4000)
    masked = mask_tokens(batch, torch.Generator().manual_seed(1))
    real = batch["tokens"] != 0
    chosen = masked["target"] != IGNORED
    assert not (chosen & ~real).any()  # padding is never chosen
    assert chosen.sum() / real.sum() == pytest.approx(0.15, abs=0.005)
    assert torch.equal(masked["target"][chosen], batch["tokens"][chosen])  # the target is what was hidden
    assert torch.equal(masked["tokens"][~chosen], batch["tokens"][~chosen])  # the rest is untouched
    fates = masked["tokens"][chosen]
    as_mask = (fates == MASK_ID).float().mean()
    kept = (fates == batch["tokens"][chosen]).float().mean()
    assert as_mask == pytest.approx(0.8, abs=0.02) and kept == pytest.approx(0.1 + 0.9 * 0.1 / VOCAB, abs=0.02)
    other = fates[(fates != MASK_ID) & (fates != batch["tokens"][chosen])]
    assert len(other) / len(fates) == pytest.approx(0.1, abs=0.02) and (other >= 3).all()  # a real token, never padding
    again = mask_tokens(batch, torch.Generator().manual_seed(2))
    assert not torch.equal(again["target"], masked["target"])  # dynamic: another draw, another mask


def test_held_out_texts_are_masked_alike_whatever_the_batch_size():
    task, split = build_task("masked_lm", "text"), texts(399)
    hidden = [torch.cat([b["target"][b["target"] != IGNORED] for b in task.eval_batches(split, size)])
              for size in (7, 64, 1000)]
    assert torch.equal(hidden[0], hidden[1]) and torch.equal(hidden[1], hidden[2])
    target = masked_split(split)["target"]
    assert torch.equal(hidden[0], target[target != IGNORED])
    for batch in task.eval_batches(split, 7):
        assert batch["tokens"].shape == batch["target"].shape == (7, batch["lengths"].max())  # cut to its longest


def test_scores_agree_with_the_trainer_and_training_learns_the_hidden_tokens():
    """Texts where every token repeats its left neighbour: a hidden token is readable from its
    context, so a few hundred steps take the loss far below a uniform guess."""
    task = build_task("masked_lm", "text")
    split = texts(600, 16)
    split["tokens"] = torch.where(split["tokens"] > 0, split["tokens"][:, :1].expand(-1, 16), 0)
    model = build_model("bert_mini", vocab_size=VOCAB, width=32, depth=1, heads=2, positions=16, dropout=0.0)
    config = TrainConfig(epochs=15, batch_size=32, eval_batch_size=100, optimizer=OptimizerConfig(lr=3e-3))
    trainer = Trainer(model, task, config)
    before = trainer.evaluate(split)["loss"]
    trainer.fit(split, split)
    scores = task.score(predict(trainer.model, task, split, batch_size=64), split, {})
    flat, evaluated = scores.flat(), trainer.evaluate(split)
    assert before > math.log(VOCAB) * 0.8 and flat["test_loss"] < 1.0
    assert flat["test_loss"] == pytest.approx(evaluated["loss"], rel=1e-4)
    assert flat["test_accuracy"] == pytest.approx(evaluated["accuracy"], abs=1e-6)
    assert flat["test_perplexity"] == pytest.approx(math.exp(flat["test_loss"]))
    assert scores.per_example("loss").mean() == pytest.approx(flat["test_loss"])
    assert len(scores.per_example("loss")) == (masked_split(split)["target"] != IGNORED).sum()


def test_each_epoch_the_run_reads_what_the_model_fills_in():
    import numpy as np

    from mastery.config import TokenizerConfig
    from mastery.modalities.text import train_tokenizer
    from mastery.tasks.masked_lm import cloze_text

    tokenizer = train_tokenizer(np.array(["the movie was good .", "the movie was bad ."] * 5),
                                TokenizerConfig(model="word", vocab_size=20, min_frequency=1))
    model = build_model("bert_mini", vocab_size=tokenizer.get_vocab_size(), width=16, depth=1, heads=2, positions=16)
    text = cloze_text(model, {"tokenizer": tokenizer.to_str()}, ("the [MASK] was good .", "[MASK] movie [MASK] ."), top=3)
    lines = text.splitlines()
    assert [line.split("  ->  ")[0] for line in lines] == ["the [MASK] was good .", "[MASK] movie [MASK] .", "[MASK] movie [MASK] ."]
    vocabulary = set(tokenizer.get_vocab())
    assert all(len(guesses := line.split("  ->  ")[1].split(" | ")) == 3 and set(guesses) <= vocabulary for line in lines)
    assert build_task("masked_lm", "text").epoch_texts(model, {"tokenizer": tokenizer.to_str()})["cloze"].count("\n") == 4
