"""The vanishing gradient: a plain RNN's reaches far fewer steps back than an LSTM's."""

import torch

from mastery.evaluation.gradient_flow import gradient_curves, gradient_flow_figure
from mastery.models import build_model


def test_a_plain_rnn_forgets_the_early_tokens_an_lstm_still_feels(tmp_path):
    torch.manual_seed(0)
    model = build_model("lstm", vocab_size=100, embed_dim=32, hidden=32).eval()
    tokens = torch.randint(2, 100, (16, 40))
    curves = gradient_curves(model.features, tokens, torch.full((16,), 40), steps=40)
    rnn, lstm = curves["plain RNN (at initialisation)"], curves["LSTM (at initialisation)"]
    assert rnn.shape == lstm.shape == (40,)
    # 30 steps back, the RNN keeps a far smaller share of the last step's gradient than the LSTM
    assert rnn[30] / rnn[0] < 0.01 * (lstm[30] / lstm[0])
    assert gradient_flow_figure(model, {"tokens": tokens, "lengths": torch.full((16,), 40)}, tmp_path / "g.png").is_file()
    assert gradient_flow_figure(build_model("nbsvm", vocab_size=100), {"tokens": tokens}, tmp_path / "n.png") is None
