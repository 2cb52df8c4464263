"""GPT-mini, a causal language model (textbook ch. 9; Radford et al. 2018, in nanoGPT's shape):
token and learned position embeddings, a stack of pre-norm blocks that each attend only to
earlier positions, a final LayerNorm and a linear head to next-token logits.

The blocks are `mastery.models.transformer`'s, shared with ViT. The head is not tied to the
token embedding (nanoGPT ties them): at a character vocabulary the head is 67 x width, tying
saves nothing worth a shared tensor, which safetensors will not write.
"""

from __future__ import annotations

import math

import torch
from torch import Generator, Tensor, nn

from mastery.models.registry import register_model
from mastery.models.transformer import Block, causal_mask, init_normal


class GPT(nn.Module):
    def __init__(self, vocab_size: int, context: int, width: int = 128, depth: int = 4, heads: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab_size, width)
        self.positions = nn.Embedding(context, width)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(width, heads, dropout=dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)
        self._init_weights(depth)

    def _init_weights(self, depth: int) -> None:
        """GPT-2's: weights N(0, 0.02), biases 0, and the projections onto the residual stream
        scaled by 1/√(2 x depth), so the stream's variance does not grow with depth."""
        init_normal(self)
        for block in self.blocks:
            for projection in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(projection.weight, std=0.02 / math.sqrt(2 * depth))

    def mix(self, tokens: Tensor, weights: bool = False) -> tuple[Tensor, list[Tensor]]:
        """(B, T) ids -> the last block's states (B, T, width), and with `weights` each block's
        attention weights (the written-out attention; without, the fused kernel)."""
        steps = tokens.shape[1]
        x = self.dropout(self.embed(tokens) + self.positions(torch.arange(steps, device=tokens.device)))
        mask, maps = causal_mask(steps, tokens.device), []
        for block in self.blocks:
            x, found = block(x, mask, weights)
            maps.append(found)
        return self.norm(x), maps

    def forward(self, tokens: Tensor) -> Tensor:
        """(B, T) ids, T at most `context` -> (B, T, vocab) logits of each next id."""
        return self.head(self.mix(tokens)[0])

    def attention_maps(self, tokens: Tensor) -> list[Tensor]:
        """Each block's causal attention over `tokens`: (B, heads, T, T), rows summing to 1."""
        return self.mix(tokens, weights=True)[1]

    @torch.no_grad()
    def generate(self, prompt: Tensor, new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: Generator | None = None) -> Tensor:
        """`prompt` (B, T) continued by `new_tokens` ids, each sampled from the softmax of the
        last logits divided by `temperature` (lower: safer), among the `top_k` likeliest only
        when given; the model reads at most its last `context` ids."""
        ids = prompt
        for _ in range(new_tokens):
            logits = self(ids[:, -self.context :])[:, -1].float() / temperature
            if top_k is not None:
                kth = logits.topk(min(top_k, logits.shape[-1])).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            ids = torch.cat([ids, torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)], dim=1)
        return ids


@register_model(modality="corpus")
def gpt(vocab_size: int, context: int, **params) -> GPT:
    return GPT(vocab_size, context, **params)
