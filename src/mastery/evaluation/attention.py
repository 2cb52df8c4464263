"""Attention over tokens (textbook ch. 9): which earlier characters a GPT reads at each
position; which words each word of a sentence attends to in a sentence encoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

SHOWN = {"\n": "⏎", " ": "␣"}


def token_labels(tokenizer, ids: Tensor) -> list[str]:
    """Each id as the piece it stands for, whitespace made visible."""
    return [SHOWN.get(piece, piece) for piece in (tokenizer.id_to_token(int(i)) or "?" for i in ids)]


def plot_token_attention(maps: Sequence[Tensor], labels: Sequence[Sequence[str]], title: str,
                         path: str | Path) -> Path:
    """One heat map per example: the last block's attention, averaged over heads, a row per
    query token and a column per key token it may read."""
    from mastery.evaluation.plots import _figure, _save

    last = maps[-1].float().mean(dim=1)  # (B, T, T)
    fig, axes = _figure(len(labels), (6.5 * min(len(labels), 3), 6.0 * -(-len(labels) // 3)))
    for ax, weights, names in zip(axes, last, labels, strict=True):
        n = len(names)
        ax.imshow(weights[:n, :n].numpy(), cmap="viridis", vmin=0)
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
        ax.set(xlabel="attends to (key)", ylabel="token (query)")
    fig.suptitle(title)
    return _save(fig, path)


@torch.inference_mode()
def attention_figure(model, tokens: Tensor, lengths: Tensor | None, tokenizer, title: str, path: Path) -> Path:
    """`model.attention_maps` over a few examples, each cut to its length, labelled by token."""
    maps = model.eval().attention_maps(tokens) if lengths is None else model.eval().attention_maps(tokens, lengths)
    sizes = lengths.tolist() if lengths is not None else [tokens.shape[1]] * len(tokens)
    labels = [token_labels(tokenizer, row[:size]) for row, size in zip(tokens, sizes, strict=True)]
    return plot_token_attention(maps, labels, title, path)
