"""Zoo tests over every text family: shapes, gradients, padding and packing, learning, ONNX with a
dynamic batch and sequence length; and the n-gram baseline computing what scikit-learn fitted."""

import numpy as np
import pytest
import torch
from torch import nn

from mastery.export import export_onnx, onnx_predict, onnx_session, quantize_int8
from mastery.models import build_model, list_models
from mastery.models.ngram import NGramConfig, NGramLogistic

FAMILIES = list_models("text")
VOCAB = 50
UNTRAINED = {"minilm": {"pretrained": False}}  # a pretrained family's shape at the tests' vocabulary
QUIET = {"nbsvm": {}, "minilm": {"dropout": 0.0}, "bert_mini": {"dropout": 0.0}}  # no dropout: by default embed_dropout and dropout 0


def _build(name, num_classes=2, seed=0, **params) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, vocab_size=VOCAB, num_classes=num_classes, **UNTRAINED.get(name, {}), **params)


def _texts(batch=4, steps=9, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded with 0 after each text's length (one text fills the batch's width)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (batch,), generator=generator)
    lengths[0] = steps
    tokens = torch.randint(2, VOCAB, (batch, steps), generator=generator)
    return tokens.masked_fill(torch.arange(steps)[None, :] >= lengths[:, None], 0), lengths


def test_every_recurrence_and_direction_is_registered():
    assert {"rnn", "lstm", "gru", "birnn", "bilstm", "bigru", "nbsvm", "nbsvm_bigru"} <= set(FAMILIES)
    assert not set(FAMILIES) & set(list_models("image"))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("num_classes", [2, 5])
def test_output_is_one_finite_logit_per_class(name, num_classes):
    model = _build(name, num_classes).eval()
    with torch.no_grad():
        out = model(*_texts())
    assert out.shape == (4, num_classes) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "nbsvm"])  # nbsvm is fitted, not trained
def test_every_trained_parameter_gets_a_gradient(name):
    model = _build(name, num_classes=3)
    nn.functional.cross_entropy(model(*_texts()), torch.arange(4) % 3).backward()
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in trained if p.grad is None or not p.grad.abs().sum()]
    assert trained and not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", FAMILIES)
def test_padding_never_changes_a_prediction(name):
    """Padded (eval) and packed (train) reading give the same scores, however long the padding."""
    model = _build(name, **QUIET.get(name, {"embed_dropout": 0.0, "dropout": 0.0}))
    tokens, lengths = _texts()
    padded = torch.cat([tokens, torch.zeros(4, 5, dtype=torch.long)], dim=1)
    with torch.no_grad():
        expected = model.eval()(tokens, lengths)
        torch.testing.assert_close(model(padded, lengths), expected, atol=1e-5, rtol=0)
        if name != "nbsvm_bigru":  # the blend scores the GRU alone while training
            torch.testing.assert_close(model.train()(padded, lengths), expected, atol=1e-5, rtol=0)


def test_the_backward_direction_starts_at_each_text_s_last_token():
    from mastery.models.rnn import reverse_within_length

    x = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])[:, :, None]
    reversed_x = reverse_within_length(x, torch.tensor([3, 5]))[:, :, 0]
    assert reversed_x.tolist() == [[3, 2, 1, 0, 0], [8, 7, 6, 5, 4]]


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "nbsvm"])
def test_one_adam_step_lowers_the_loss_on_a_fixed_batch(name):
    model = _build(name)
    tokens, lengths = _texts(batch=8)
    labels = torch.arange(8) % 2
    lr = 1e-4 if name == "minilm" else 1e-2  # a post-norm transformer overshoots at 1e-2 in one step
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks before and after the step
        return nn.functional.cross_entropy(model(tokens, lengths), labels)

    before = loss()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert loss() < before


EXPORT_PATHS = {"rnn", "nbsvm_bigru"}  # the scan; the blend of n-grams and a GRU read both ways


def _export_case(name):
    return name if name in EXPORT_PATHS else pytest.param(name, marks=pytest.mark.slow)


@pytest.mark.parametrize("name", [_export_case(n) for n in FAMILIES])
def test_onnx_export_takes_any_batch_and_sequence_length(name, tmp_path):
    model = _build(name).eval()
    tokens, lengths = _texts(batch=3, steps=7)
    dims = {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}
    path = export_onnx(model, {"tokens": tokens, "lengths": lengths}, dims, "logits", tmp_path / f"{name}.onnx",
                       {"model": name})
    session = onnx_session(path)
    for batch, steps in ((1, 4), (5, 12)):
        tokens, lengths = _texts(batch, steps, seed=batch)
        with torch.no_grad():
            expected = model(tokens, lengths).numpy()
        found = onnx_predict(session, {"tokens": tokens.numpy(), "lengths": lengths.numpy()})
        np.testing.assert_allclose(found, expected, atol=1e-4, rtol=0)


def test_int8_export_of_a_recurrent_reader_stays_close(tmp_path):
    """ORT's symbolic shape inference fails on a recurrence's loop; quantising still works."""
    model = _build("lstm").eval()
    tokens, lengths = _texts(batch=3, steps=7)
    dims = {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}
    fp32 = export_onnx(model, {"tokens": tokens, "lengths": lengths}, dims, "logits", tmp_path / "m.onnx", {})
    session = onnx_session(quantize_int8(fp32, tmp_path / "m.int8.onnx"))
    tokens, lengths = _texts(5, 12, seed=5)
    with torch.no_grad():
        expected = model(tokens, lengths).numpy()
    found = onnx_predict(session, {"tokens": tokens.numpy(), "lengths": lengths.numpy()})
    np.testing.assert_allclose(found, expected, atol=0.05, rtol=0)


def test_nbsvm_scores_what_the_fitted_estimator_predicts():
    """The table holds ratio x coefficient, so a forward pass is the fitted logistic regression."""
    tokens, lengths = _texts(batch=60, steps=12)
    labels = (tokens == 7).any(dim=1).long() | (tokens[:, 0] < 10).long()
    model = NGramLogistic(NGramConfig(VOCAB, 2, n=2, buckets=512, C=1.0))
    model.fit_closed_form({"tokens": tokens, "lengths": lengths, "label": labels})
    from sklearn.linear_model import LogisticRegression

    from mastery.models.ngram import log_count_ratio

    features = model.presence(tokens, lengths)
    ratio = log_count_ratio(features, labels.numpy())
    estimator = LogisticRegression(C=1.0, max_iter=1000).fit(features.multiply(ratio).tocsr(), labels.numpy())
    with torch.no_grad():
        probs = model(tokens, lengths).softmax(dim=1)[:, 1].numpy()
    np.testing.assert_allclose(probs, estimator.predict_proba(features.multiply(ratio).tocsr())[:, 1], atol=1e-5)
    assert (probs.round() == labels.numpy()).mean() > 0.9


def test_ngram_ids_count_each_ngram_once_and_ignore_padding():
    from mastery.models.ngram import ngram_ids

    tokens = torch.tensor([[5, 6, 5, 6, 0, 0]])
    ids = ngram_ids(tokens, torch.tensor([4]), n=2, buckets=1000, vocab_size=VOCAB)
    present = ids[ids > 0]
    assert sorted(present[present < VOCAB].tolist()) == [5, 6]  # unigrams, repeats once
    assert len(present[present >= VOCAB]) == 2  # bigrams (5,6) and (6,5); none reaches the padding


def test_a_second_export_of_the_same_recurrence_keeps_its_sequence_dynamic(tmp_path):
    """torch cached the exporter's loop kernel for GRU once; the second GRU export in a process
    fell back to an unrolled one with the example's length."""
    tokens, lengths = _texts(batch=3, steps=7)
    dims = {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}
    for attempt in range(2):
        path = export_onnx(_build("gru").eval(), {"tokens": tokens, "lengths": lengths}, dims, "logits",
                           tmp_path / f"{attempt}.onnx", {})
        assert onnx_session(path).get_inputs()[0].shape == ["batch", "sequence"]
