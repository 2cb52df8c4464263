"""Causal language modelling (textbook ch. 9, GPT): predict every next token of a window.

The loss is cross-entropy in nats per token (a character, for a character corpus), averaged
over tokens, not windows; perplexity is its exponential and bits per character its value in
base 2. Training windows are drawn afresh each step at random offsets of the split's stream
(nanoGPT's `get_batch`), so a model never sees the same cut twice; an epoch is as many tokens
as the split holds. Evaluation reads the split's consecutive windows, each token once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Generator, Tensor

from mastery.errors import MasteryError
from mastery.tasks.base import Batch, Sums, Task
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.registry import register_task


def stream_of(split: Batch) -> Tensor:
    """The stream a split's consecutive windows were cut from: first id, then every target."""
    return torch.cat([split["tokens"][:1, 0], split["target"].reshape(-1)])


def random_windows(stream: Tensor, context: int, count: int, generator: Generator) -> Batch:
    """`count` windows of `context` ids at random offsets of `stream`, with their next ids."""
    starts = torch.randint(len(stream) - context, (count,), generator=generator).to(stream.device)
    windows = stream[starts[:, None] + torch.arange(context + 1, device=stream.device)]
    return {"tokens": windows[:, :-1], "target": windows[:, 1:]}


@register_task
class LanguageModel(Task):
    name = "language_model"
    metrics = MetricTable(
        (Metric("loss", "minimize", per_example=True), Metric("perplexity", "minimize"),
         Metric("bits_per_char", "minimize"), Metric("accuracy", "maximize")),
        headline=("loss", "perplexity"),
    )
    inputs = ("tokens",)
    output = "logits"

    def output_specs(self, stats: dict) -> tuple:
        from mastery.export.contract import TensorSpec

        return (TensorSpec(self.output, "float32", ("batch", "sequence", stats["vocab_size"])),)

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        return {"tokens": {0: "batch", 1: "sequence"}}

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return F.cross_entropy(outputs.flatten(0, 1), batch["target"].flatten())

    def score_sums(self, outputs: Tensor, batch: Batch) -> Sums:
        return {"accuracy": (outputs.argmax(dim=-1) == batch["target"]).sum(dtype=torch.float32)}

    def count(self, batch: Batch) -> int:
        return batch["target"].numel()

    def batches_per_epoch(self, split: Batch, batch_size: int) -> int:
        return math.ceil(split["target"].numel() / (batch_size * split["tokens"].shape[1]))

    def train_batches(self, split: Batch, batch_size: int, batches: int, generator: Generator) -> Iterator[Batch]:
        stream, context = stream_of(split), split["tokens"].shape[1]
        for _ in range(batches):
            yield random_windows(stream, context, batch_size, generator)

    def epoch_texts(self, model, stats: dict) -> dict[str, str]:
        """A sample from a new line at each evaluation, seeded alike, so the run shows the same
        draw from a better model each epoch."""
        return {"samples": sample_text(model, stats)}

    def figures(self, model, scores, split: Batch, meta: dict, directory) -> list:
        """The causal attention of the last block over the first 48 characters of two test windows."""
        from mastery.evaluation.attention import attention_figure
        from mastery.modalities.text import load_tokenizer

        return [attention_figure(model, split["tokens"][:2, :48], None, load_tokenizer(meta),
                                 "what each character reads (last block, causal)", directory / "attention.png")]

    def score(self, outputs: Tensor, split: Batch, meta: dict):
        from mastery.evaluation.language import LanguageModelScores

        return LanguageModelScores.of(outputs, split["target"])


def sample_text(model, meta: dict, prompt: str = "\n", tokens: int = 300, temperature: float = 0.8,
                top_k: int | None = None, seed: int = 0) -> str:
    """`prompt` continued by `tokens` sampled characters (`GPT.generate`), decoded with the
    tokenizer the model was trained with (`meta`: its stats or model.json); seeded, so two
    samples differ only by the model."""
    from mastery.modalities.text import load_tokenizer

    tokenizer = load_tokenizer(meta)
    ids = torch.tensor([tokenizer.encode(prompt).ids])
    if ids.numel() == 0:
        raise MasteryError("the prompt is empty: give at least one character to continue")
    out = model.eval().generate(ids, tokens, temperature, top_k, torch.Generator().manual_seed(seed))
    return tokenizer.decode(out[0].tolist())
