"""The language-model track end to end on one play, shrunk to seconds: every step the doors
call, samples on each epoch's run, an ONNX export of any batch and length, and `mastery
generate` from the champion."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import edit_yaml
from mlflow import MlflowClient

from mastery.config import Params
from mastery.data.prepare import PreparedData
from mastery.data.sources.corpus import plays_directory
from mastery.errors import MasteryError
from mastery.export import CONTRACT_KEY, onnx_predict, onnx_session, read_metadata
from mastery.export.contract import Contract
from mastery.steps.catalog import STEPS, step_named
from mastery.steps.context import load_context
from mastery.steps.generate import generate
from mastery.validation import DataValidationError

PLAY = "comedies/the-comedy-of-errors.md"  # the shortest play: 93 kB


def one_play(project, text: str | None = None) -> None:
    """The corpus shrunk to one play (or `text` as a play), a GPT of one block, a 2-trial search."""
    plays = project / "plays"
    plays.mkdir()
    target = plays / "play.md"
    if text is None:
        shutil.copy(plays_directory(Params(pipelines=("lm",))) / PLAY, target)
    else:
        target.write_bytes(text.encode() if isinstance(text, str) else text)
    edit_yaml(project / "params.yaml", lambda p: p.setdefault("sources", {}).update(shakespeare_dir=str(plays)))

    def tiny(spec: dict) -> None:
        spec["tokenizer"]["max_tokens"] = 32
        spec["train"] |= {"epochs": 2, "max_batches": 3, "batch_size": 8}
        spec["candidates"] = [{"name": "gpt", "model": "gpt", "params": {"width": 32, "depth": 1, "heads": 2}}]
        spec["tune"] |= {"trials": 2, "train": {"epochs": 1, "max_batches": 2},
                         "space": {"train.optimizer.lr": {"low": 1.0e-3, "high": 3.0e-3, "log": True}}}
        spec["gate"]["thresholds"] = {"test_loss": 5.0}

    edit_yaml(project / "pipelines" / "lm.yaml", tiny)


@pytest.mark.long  # about 100 s: nine steps, an ONNX export and its int8 parity
def test_every_step_runs_and_the_champion_generates(project):
    one_play(project)
    ctx = load_context("lm")
    results = {step.name: step.execute(ctx) for step in STEPS}
    stats = json.loads((ctx.paths.prepared / "stats.json").read_text())
    assert stats["modality"] == "corpus" and stats["context"] == 32 and stats["vocab_size"] > 60
    assert sum(stats["tokens"].values()) > 80_000

    summary = results["evaluate"]
    assert summary["test_loss"] < np.log(stats["vocab_size"]) and summary["test_perplexity"] == pytest.approx(
        np.exp(summary["test_loss"]))
    assert json.loads(ctx.paths.metrics.read_text()).keys() == {"test_loss", "test_perplexity"}
    assert (ctx.paths.reports / "gpt" / "attention.png").is_file()  # causal attention over test characters
    assert results["promote"]["promoted"] is True

    run_id = json.loads((ctx.paths.candidate("gpt") / "run.json").read_text())["run_id"]
    samples = [f.path for f in MlflowClient().list_artifacts(run_id, "samples")]
    assert samples == ["samples/epoch-0001.txt", "samples/epoch-0002.txt"]

    an_export_reads_any_batch_and_length(ctx, stats)
    text = generate(ctx, prompt="ANTIPHOLUS:", count=40, seed=1)
    assert text["version"] == 1 and text["text"].startswith("ANTIPHOLUS:")
    assert 11 < len(text["text"]) <= 51  # 40 sampled: characters, or [UNK] / [PAD] that decode to nothing
    assert generate(ctx, prompt="ANTIPHOLUS:", count=40, seed=1)["text"] == text["text"]
    assert generate(ctx, prompt="ANTIPHOLUS:", count=40, seed=2)["text"] != text["text"]
    with pytest.raises(MasteryError, match="the prompt is empty"):
        generate(ctx, prompt="", count=5)


def an_export_reads_any_batch_and_length(ctx, stats: dict) -> None:
    parity = json.loads((ctx.paths.exports / "parity.json").read_text())
    assert [(c["name"], c["passed"]) for c in parity["checks"]] == [("onnx", True), ("onnx_int8", True)]
    contract = Contract.from_json(read_metadata(ctx.paths.exports / "model.onnx")[CONTRACT_KEY])
    assert contract.task == "language_model" and contract.tokenizer
    assert [(s.name, s.shape) for s in contract.inputs] == [("tokens", ("batch", "sequence"))]
    assert contract.outputs[0].shape == ("batch", "sequence", stats["vocab_size"])
    from mastery.tracking.registry import load_version

    model = load_version(ctx.spec.registered_model, "champion")[0]
    tokens = PreparedData.load(ctx.paths.prepared).splits["test"]["tokens"][:3, :11]  # 11 of the 32 it trained on
    exported = onnx_predict(onnx_session(ctx.paths.exports / "model.onnx"), {"tokens": tokens.numpy()})
    np.testing.assert_allclose(exported, model(tokens).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_a_play_with_bytes_that_are_not_text_fails_validation_by_name(project):
    play = (plays_directory(Params(pipelines=("lm",))) / PLAY).read_bytes()
    one_play(project, play.replace(b"Syracuse", b"Syr\xff\xfecuse", 1))
    ctx = load_context("lm")
    step_named("ingest").execute(ctx)
    with pytest.raises(DataValidationError, match="undecodable"):
        step_named("validate").execute(ctx)
