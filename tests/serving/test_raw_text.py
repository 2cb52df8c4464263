"""A text classifier served on raw text: the contract's tokenizer makes the token ids on the
server, as in training, and a text that is not one (empty, blank, overlong, not UTF-8) gets a
4xx naming it."""

from __future__ import annotations

import sqlite3

import httpx
import numpy as np
import pytest
import torch
from conftest import ThreadServer

from mastery.config import TokenizerConfig
from mastery.export import onnx_predict, onnx_session
from mastery.export.onnx_export import export_onnx
from mastery.modalities.text import encode, train_tokenizer
from mastery.models import build_model
from mastery.serving.app import ServeConfig, create_app
from mastery.serving.model import ModelSource, ServedModel
from mastery.tasks import build_task

TRAIN = np.array(["a fine film , warmly acted", "a dull film", "warmly funny and fine", "dull , dull , dull"] * 5)
MAX_CHARS = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny RNN reader exported with the contract export writes, served by the standard app."""
    directory = tmp_path_factory.mktemp("text")
    tokenizer = train_tokenizer(TRAIN, TokenizerConfig(model="word", vocab_size=100, min_frequency=1))
    task = build_task("classification", "text")
    stats = {"classes": ["rotten", "fresh"], "vocab_size": tokenizer.get_vocab_size(), "max_tokens": 128,
             "tokenizer": tokenizer.to_str(), "max_chars": MAX_CHARS}
    torch.manual_seed(0)
    model = build_model("rnn", vocab_size=stats["vocab_size"], num_classes=2).eval()
    tokens, lengths = encode(tokenizer, TRAIN[:3])
    path = export_onnx(model, {"tokens": torch.from_numpy(tokens), "lengths": torch.from_numpy(lengths)},
                       task.dynamic_dims(), task.output, directory / "model.onnx", {})
    contract = task.contract(stats)
    model = ServedModel("text-demo", "1", "0" * 64, str(path), contract, {}, onnx_session(path))
    config = ServeConfig(ModelSource("text-demo", directory), directory / "predictions.sqlite", poll_seconds=0)
    with ThreadServer(create_app(config, model)) as server:
        yield server, tokenizer, path, config.log_path


def post(server, body) -> httpx.Response:
    content = body if isinstance(body, bytes) else None
    return httpx.post(f"{server.url}/predict", json=None if content else body, content=content, timeout=30,
                      headers={"content-type": "application/json"})


def test_raw_texts_are_answered_as_the_export_answers_their_token_ids(served):
    server, tokenizer, path, log = served
    texts = ["a fine film", "dull , and not funny at all", "warmly acted masterpiece"]  # "masterpiece" is [UNK]
    answer = post(server, {"text": texts})
    assert answer.status_code == 200, answer.text
    tokens, lengths = encode(tokenizer, np.array(texts))
    logits = onnx_predict(onnx_session(path), {"tokens": tokens, "lengths": lengths})
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose([p["probabilities"] for p in answer.json()["predictions"]], probabilities, rtol=1e-5)
    with sqlite3.connect(log) as db:  # logged with the profile validation gives texts
        rows = db.execute("SELECT chars, words FROM predictions ORDER BY rowid DESC LIMIT 3").fetchall()
    assert sorted(rows) == sorted((len(t), len(t.split())) for t in texts)


@pytest.mark.parametrize("body, field, code", [
    ({"text": ["a fine film", "   \n"]}, "text[1]", 422),  # blank: holds no word
    ({"text": [""]}, "text[0]", 422),
    ({"text": ["fine " * 13]}, "text[0]", 422),  # 65 characters, over the 60 validation allows
    ({"text": ["fine \ufffd film"]}, "text[0]", 422),  # what a decoder puts for bytes that were not text
    (b'{"text": ["fine \\ud800 film"]}', "body", 400),  # a lone surrogate: pydantic refuses the JSON
    ({"text": []}, "text", 422),
    ({"tokens": [[4, 5]], "lengths": [2]}, "text", 422),  # this server takes texts
    (b'{"text": ["caf\xe9 au lait"]}', "body", 400),  # not UTF-8
])
def test_a_text_that_is_not_one_gets_a_4xx_naming_it(served, body, field, code):
    answer = post(served[0], body)
    assert answer.status_code == code, answer.text
    assert field in {error["field"] for error in answer.json()["detail"]}
