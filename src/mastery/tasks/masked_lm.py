"""Masked language modelling (textbook ch. 9, BERT; Devlin et al. 2019): hide 15 % of a text's
tokens and predict each from both sides of it.

Masking is the training batch's transform, drawn afresh every step (dynamic masking, as
RoBERTa: a text is hidden differently each epoch). Of the chosen tokens 80 % become [MASK],
10 % another token and 10 % stay as they are, so the model cannot learn that only [MASK] needs
predicting; the other token is one of the batch's own, so drawn by its frequency in the text.
Validation and test are masked once, seeded, a whole split at a time: every epoch and every
model is scored on the same hidden tokens, which the gate's paired test needs. The loss is in
nats per hidden token, and logits are computed at hidden positions only: a vocabulary of
logits at every position of a test split would not fit in memory, and would be thrown away.
After each epoch the run gets what the model fills in for a few [MASK]ed review sentences.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Generator, Tensor

from mastery.data.buckets import bucketed_batches, trim_padding
from mastery.modalities.text import MASK_ID
from mastery.tasks.base import Batch, Sums, Task, Transform
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task

MASK_RATE = 0.15
IGNORED = -100  # the target of a token that was not hidden (cross-entropy's ignore_index)
EVAL_SEED = 0
CLOZES = ("the movie was [MASK] .", "a [MASK] , funny and moving film .", "the plot is [MASK] and the acting is worse .",
          "this coffee tastes [MASK] .", "i would not [MASK] this product to anyone .")


def mask_tokens(batch: Batch, generator: Generator, rate: float = MASK_RATE) -> Batch:
    """The batch with `rate` of each text's tokens chosen and hidden (80/10/10), and `target`:
    the chosen tokens' ids, IGNORED elsewhere. Padding is never chosen."""
    tokens, lengths = batch["tokens"], batch["lengths"]
    real = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]
    draw = torch.rand(tokens.shape, generator=generator, device=tokens.device)
    chosen = real & (draw < rate)
    how = draw / rate  # uniform on [0, 1) among the chosen: which of the three fates
    pool = tokens[real]
    other = pool[torch.randint(len(pool), tokens.shape, generator=generator, device=tokens.device)]
    hidden = torch.where(chosen & (how < 0.8), MASK_ID, torch.where(chosen & (how < 0.9), other, tokens))
    return {**batch, "tokens": hidden, "target": torch.where(chosen, tokens, IGNORED)}


def masked_split(split: Batch) -> Batch:
    """A held-out split masked once, the same way whatever the batch size (seeded)."""
    device = split["tokens"].device
    return mask_tokens(split, torch.Generator(device).manual_seed(EVAL_SEED))


@register_task
class MaskedLanguageModel(Task):
    name = "masked_lm"
    metrics = MetricTable(
        (Metric("loss", "minimize", per_example=True), Metric("perplexity", "minimize"), Metric("accuracy", "maximize")),
        headline=("loss", "accuracy"),
    )
    inputs = ("tokens", "lengths")
    output = "logits"

    def output_specs(self, stats: dict) -> tuple:
        from mastery.export.contract import TensorSpec

        return (TensorSpec(self.output, "float32", ("batch", "sequence", stats["vocab_size"])),)

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        return {"tokens": {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}

    def forward(self, model, batch: Batch) -> Tensor:
        """(hidden tokens, vocabulary) logits, the hidden tokens in reading order."""
        return model(*self.model_inputs(batch), batch["target"] != IGNORED)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return F.cross_entropy(outputs, _hidden(batch["target"]))

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        return {"accuracy": (outputs.argmax(dim=-1) == _hidden(batch["target"])).sum(dtype=torch.float32)}

    def count(self, batch: Batch) -> int:
        return int((batch["target"] != IGNORED).sum())

    def train_transform(self, config) -> Transform | None:
        return mask_tokens

    def train_batches(self, split: Batch, batch_size: int, batches: int, generator: Generator) -> Iterator[Batch]:
        return bucketed_batches(split, batch_size, batches, generator)

    def eval_batches(self, split: Batch, batch_size: int) -> Iterator[Batch]:
        return map(trim_padding, super().eval_batches(masked_split(split), batch_size))

    def epoch_texts(self, model, stats: dict) -> dict[str, str]:
        return {"cloze": cloze_text(model, stats)}

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.language import TokenScores

        return TokenScores.of(outputs, _hidden(masked_split(split)["target"]))


def _hidden(target: Tensor) -> Tensor:
    return target[target != IGNORED]


@torch.no_grad()
def cloze_text(model, meta: dict, sentences: tuple[str, ...] = CLOZES, top: int = 5) -> str:
    """Each sentence with the model's `top` guesses for its [MASK], likeliest first."""
    from mastery.modalities.text import encode, load_tokenizer

    tokenizer = load_tokenizer(meta)
    tokens, lengths = (torch.from_numpy(a) for a in encode(tokenizer, np.array(sentences)))
    device = next(model.parameters()).device
    hidden = (tokens == MASK_ID).to(device)
    guesses = model.eval()(tokens.to(device), lengths.to(device), hidden).topk(top, dim=-1).indices.tolist()
    rows = hidden.nonzero()[:, 0].tolist()
    return "\n".join(f"{sentences[row]}  ->  {' | '.join(tokenizer.id_to_token(i) for i in ids)}"
                     for row, ids in zip(rows, guesses, strict=True))
