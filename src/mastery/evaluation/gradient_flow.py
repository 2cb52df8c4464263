"""How far back in a text a recurrence carries the gradient (textbook ch. 6): the vanishing
gradient of a plain RNN beside an LSTM, whose additive cell state lets it through.

On real test texts, embedded by the model, each recurrence reads the first `steps` tokens;
the gradient of its last state is taken with respect to every input. A plain tanh RNN
multiplies it by the same recurrent matrix and tanh slope at every step back, so it shrinks
geometrically; an LSTM's forget gate near one passes it on almost untouched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from mastery.evaluation.plots import plot_gradient_flow
from mastery.models.rnn import Recurrence, TextEncoder

STEPS = 30  # read by texts this long or longer; about a quarter of MR's test texts
TEXTS = 256


def gradient_per_step(recurrence: nn.RNNBase, inputs: Tensor) -> np.ndarray:
    """Mean norm of d(sum of the last state) / d(input at each step), over the texts, by steps
    before the last input (index 0 is the last step itself): (B, T, C) -> (T,)."""
    x = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        outputs, _ = recurrence(x)
        outputs[:, -1].sum().backward()
    return x.grad.norm(dim=2).mean(dim=0).flip(0).numpy()


def gradient_curves(encoder: TextEncoder, tokens: Tensor, lengths: Tensor, steps: int = STEPS) -> dict[str, np.ndarray]:
    """The trained model's first recurrence, and a plain RNN and an LSTM of its width at
    initialisation (seeded), on the embedded first `steps` tokens of texts at least that long."""
    steps = min(steps, int(lengths.max()))
    with torch.no_grad():
        inputs = encoder.embed(tokens[lengths >= steps][:TEXTS, :steps])  # (B, steps, E)
    first = encoder.forward_layers[0].rnn
    curves = {f"this model's {encoder.config.cell.upper()} (trained)": gradient_per_step(first, inputs)}
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for cell in ("rnn", "lstm"):
            fresh = Recurrence(cell, first.input_size, first.hidden_size).rnn
            curves[f"{'plain RNN' if cell == 'rnn' else 'LSTM'} (at initialisation)"] = gradient_per_step(fresh, inputs)
    return curves


def gradient_flow_figure(model: nn.Module, split: dict[str, Tensor], path: str | Path) -> Path | None:
    """The curves of `gradient_curves` on the split, plotted; None for a model without a
    recurrence (the n-gram baseline)."""
    encoder = next((m for m in model.modules() if isinstance(m, TextEncoder)), None)
    if encoder is None:
        return None
    return plot_gradient_flow(gradient_curves(encoder.eval(), split["tokens"], split["lengths"]), path)
