"""Recurrent text classifiers (textbook ch. 6): token embeddings, a plain RNN, LSTM or GRU read
one way or both ways, pooled into one vector per text, then a linear head.

Each direction of each layer is its own one-way recurrence; the backward one reads every
text reversed within its own length, so it starts at the text's last token, not at the
padding. Training packs the sequences (`pack_padded_sequence`: no step is spent on padding);
scoring and export run over the padded batch, which `torch.export` and ONNX trace with a
dynamic batch and sequence length. A one-way recurrence is blind to the padding after a
text, so both give the same outputs at every real token (a test holds them equal), and
pooling never looks at the padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mastery.models.registry import register_model

Cell = Literal["rnn", "lstm", "gru"]
Pool = Literal["last", "max", "mean"]
CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class RNNConfig:
    vocab_size: int
    num_classes: int = 2
    cell: Cell = "gru"
    embed_dim: int = 128
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    pool: Pool = "last"  # the last step's state (both ends, both ways), or max / mean over the steps
    embed_dropout: float = 0.3  # on the embeddings
    dropout: float = 0.5  # between layers and before the head


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Each text's first `length` steps reversed, its padding left in place: (B, T, C) -> (B, T, C)."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, T)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (B, T)
    return x[torch.arange(x.shape[0], device=x.device)[:, None], index]  # not gather over an expand: ONNX fixes its T


def elman_scan(rnn: nn.RNN, x: Tensor) -> Tensor:
    """What the one-layer tanh `rnn(x)[0]` computes, as a `scan`: torch.export keeps it a loop,
    where it unrolls `nn.RNN` into a fixed number of steps (GRU and LSTM export as ONNX ops)."""
    from torch._higher_order_ops.scan import scan

    inputs = (x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + rnn.bias_hh_l0).transpose(0, 1)  # (T, B, H)
    recurrent = rnn.weight_hh_l0.T  # (H, H)

    def step(h: Tensor, x_t: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(x_t + h @ recurrent)  # (B, H)
        return h, h.clone()

    _, outputs = scan(step, x.new_zeros(x.shape[0], rnn.hidden_size), inputs)
    return outputs.transpose(0, 1)  # (B, T, H)


class Recurrence(nn.Module):
    """One layer, one direction: (B, T, C) -> (B, T, H), exact at every step inside a text."""

    def __init__(self, cell: Cell, in_dim: int, hidden: int):
        super().__init__()
        self.rnn = CELLS[cell](in_dim, hidden, batch_first=True)
        if cell == "lstm":  # forget little at first, so gradients reach early steps (Jozefowicz et al. 2015)
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden] = 1.0
                self.rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.training:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            return pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]
        if isinstance(self.rnn, nn.RNN) and torch.compiler.is_exporting():
            return elman_scan(self.rnn, x)
        return self.rnn(x)[0]


class TextEncoder(nn.Module):
    """Token ids and lengths -> one vector per text: (B, T), (B,) -> (B, D)."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        directions = 2 if config.bidirectional else 1
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.embed_dropout = nn.Dropout(config.embed_dropout)
        widths = [config.embed_dim] + [config.hidden * directions] * (config.layers - 1)
        self.forward_layers = nn.ModuleList(Recurrence(config.cell, w, config.hidden) for w in widths)
        self.backward_layers = nn.ModuleList(Recurrence(config.cell, w, config.hidden) for w in widths) \
            if config.bidirectional else None
        self.dropout = nn.Dropout(config.dropout)
        self.out_dim = config.hidden * directions

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        x = self.embed_dropout(self.embed(tokens))  # (B, T, E)
        for layer in range(self.config.layers):
            if layer:
                x = self.dropout(x)
            ahead = self.forward_layers[layer](x, lengths)  # (B, T, H)
            if self.backward_layers is None:
                x = ahead
                continue
            back = self.backward_layers[layer](reverse_within_length(x, lengths), lengths)
            x = torch.cat([ahead, reverse_within_length(back, lengths)], dim=2)  # (B, T, 2H)
        return self.pool(x, lengths)

    def pool(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, D) -> (B, D) over each text's own steps."""
        steps = torch.arange(x.shape[1], device=x.device)[None, :]
        inside = (steps < lengths[:, None])[:, :, None]  # (B, T, 1)
        if self.config.pool == "max":
            return x.masked_fill(~inside, torch.finfo(x.dtype).min).amax(dim=1)
        if self.config.pool == "mean":
            return (x * inside).sum(dim=1) / lengths[:, None].to(x.dtype)
        last = x.gather(1, (lengths - 1)[:, None, None].expand(-1, 1, x.shape[2]))[:, 0]  # (B, D)
        if self.backward_layers is None:
            return last
        hidden = self.config.hidden  # the backward direction ends on the first token
        return torch.cat([last[:, :hidden], x[:, 0, hidden:]], dim=1)


class RNNClassifier(nn.Module):
    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.features = TextEncoder(config)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(self.features.out_dim, config.num_classes))

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return self.head(self.features(tokens, lengths))  # (B, num_classes)


def _rnn(cell: Cell, bidirectional: bool, vocab_size: int, num_classes: int, **params) -> RNNClassifier:
    params.setdefault("pool", "max" if bidirectional else "last")
    return RNNClassifier(RNNConfig(vocab_size, num_classes, cell=cell, bidirectional=bidirectional, **params))


@register_model(modality="text")
def rnn(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    """Plain (Elman) tanh RNN: the textbook's first recurrence, and its vanishing gradient."""
    return _rnn("rnn", False, vocab_size, num_classes, **params)


@register_model(modality="text")
def lstm(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    return _rnn("lstm", False, vocab_size, num_classes, **params)


@register_model(modality="text")
def gru(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    return _rnn("gru", False, vocab_size, num_classes, **params)


@register_model(modality="text")
def birnn(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    return _rnn("rnn", True, vocab_size, num_classes, **params)


@register_model(modality="text")
def bilstm(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    return _rnn("lstm", True, vocab_size, num_classes, **params)


@register_model(modality="text")
def bigru(vocab_size: int, num_classes: int = 2, **params) -> RNNClassifier:
    """Both ways, max over the steps: the strongest recurrent reader here on MR."""
    return _rnn("gru", True, vocab_size, num_classes, **params)
