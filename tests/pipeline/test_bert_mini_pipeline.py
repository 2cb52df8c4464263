"""BERT-mini end to end, shrunk to seconds: masked-LM pretraining on the review corpus through
the steps the doors call, then `transfer` to MR, whose texts are tokenized by the pretrained
model's own tokenizer."""

import json
import math

import mlflow
import pytest
from conftest import edit_yaml
from tokenizers import Tokenizer

from mastery.modalities.text import MASK, MASK_ID, load_tokenizer
from mastery.steps.context import load_context
from mastery.steps.evaluate import evaluate
from mastery.steps.ingest import ingest
from mastery.steps.prepare import prepare
from mastery.steps.train import train
from mastery.steps.transfer import _target, transfer
from mastery.steps.validate import validate


def tiny(spec: dict) -> None:
    spec["tokenizer"] |= {"vocab_size": 500, "max_tokens": 32}
    spec["train"] |= {"epochs": 2, "max_batches": 5, "batch_size": 16, "scheduler": {"name": "none"},
                      "optimizer": {"name": "adamw", "lr": 3.0e-3}}
    spec["candidates"] = [{"name": "bert_mini", "model": "bert_mini",
                           "params": {"width": 32, "depth": 1, "heads": 2, "positions": 32}}]
    spec["transfer"] |= {"sizes": [40], "train": {"epochs": 1, "batch_size": 16, "max_batches": 2}}


@pytest.mark.long  # about a minute: the corpus's 15,227 texts and MR's 12,808 through validation and prepare
def test_pretrain_then_transfer_to_mr_with_the_pretrained_tokenizer(project):
    edit_yaml(project / "pipelines" / "bert_mini.yaml", tiny)
    ctx = load_context("bert_mini")
    for step in (ingest, validate, prepare, train):
        step(ctx)
    stats = json.loads((ctx.paths.prepared / "stats.json").read_text())
    assert load_tokenizer(stats).token_to_id(MASK) == MASK_ID and stats["counts"]["train"] > 13_000
    summary = evaluate(ctx)
    assert set(summary) >= {"test_loss", "test_accuracy", "test_perplexity"}
    assert summary["test_perplexity"] == pytest.approx(math.exp(summary["test_loss"]))
    assert summary["test_loss"] < math.log(500)  # ten steps learn the tokens' frequencies, at least

    pretrained = Tokenizer.from_file(str(ctx.paths.candidate("bert_mini") / "tokenizer.json"))
    target = _target(ctx, ctx.spec.transfer)
    assert load_tokenizer(target.stats).get_vocab() == pretrained.get_vocab()  # not one learnt from MR
    assert target.stats["classes"] == ["rotten", "fresh"]
    report = transfer(ctx)
    assert sorted(r["mode"] for r in report["results"]) == ["feature_extraction", "fine_tuning", "scratch"]
    assert all(r["examples"] == 40 and 0 <= r["test_accuracy"] <= 1 for r in report["results"])
    runs = mlflow.search_runs(experiment_names=["mastery/bert_mini-transfer"])
    assert len(runs) == 4
