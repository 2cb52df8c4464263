"""Transformer blocks written out (textbook ch. 9, in the nanoGPT spirit): scaled dot-product
attention, multi-head self-attention, masks, positions and the pre-norm block. The vision
transformer uses them; the language models (causal and masked) are built from the same parts.

Attention(Q, K, V) = softmax(QKᵀ / √d) V, with a boolean mask that says which keys each query
may attend to (True = may); masked scores are -inf before the softmax, so their weights are 0.
Tests hold `attention` to `torch.nn.functional.scaled_dot_product_attention`, masks included.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout: float = 0.0,
              training: bool = False) -> tuple[Tensor, Tensor]:
    """(B, h, T, d) queries, (B, h, S, d) keys and values -> outputs (B, h, T, d) and weights
    (B, h, T, S); `mask` broadcasts to (B, h, T, S). Weights are those before dropout."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, h, T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return F.dropout(weights, dropout, training) @ v, weights


def causal_mask(steps: int, device: torch.device | None = None) -> Tensor:
    """(T, T): query i may attend to keys 0..i only (a GPT reads left to right)."""
    return torch.ones(steps, steps, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, 1, 1, T): every query may attend to a text's own tokens, never to its padding."""
    return (torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None])[:, None, None, :]


def sinusoidal_positions(steps: int, dim: int) -> Tensor:
    """(T, dim) fixed positions (Vaswani et al., 2017): PE[p, 2i] = sin(p / 10000^(2i/dim)),
    PE[p, 2i+1] = cos(the same); a model may read texts longer than any it trained on."""
    position = torch.arange(steps, dtype=torch.float32)[:, None]  # (T, 1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (dim/2,)
    table = torch.zeros(steps, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class MultiHeadAttention(nn.Module):
    """Self-attention in `heads` subspaces: one projection makes Q, K and V, each head attends
    on its own d = dim / heads, the heads are concatenated and projected back."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None, weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """(B, T, dim) -> outputs (B, T, dim) and weights (B, heads, T, T). Without `weights`,
        the same attention runs as PyTorch's fused kernel (tests hold `attention` to it), about
        a tenth faster to train, and no weights come back."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)  # (B, h, T, d)
        if weights:
            y, weights = attention(q, k, v, mask, self.dropout, self.training)  # (B, h, T, d)
        else:
            y, weights = F.scaled_dot_product_attention(q, k, v, mask, self.dropout if self.training else 0.0), None
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side
        return self.proj_dropout(self.proj(y)), weights


class FeedForward(nn.Module):
    """The position-wise MLP: dim -> hidden -> dim, GELU between."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(dim, hidden)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:  # (B, T, dim)
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm block: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)); the residual
    path stays an identity, which keeps deep stacks trainable without warm-up tricks.
    `pre_norm=False` is the original (and BERT's) post-norm block: LayerNorm(x + attention(x)),
    then LayerNorm(x + MLP(x)), which pretrained BERT weights expect."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0, pre_norm: bool = True,
                 eps: float = 1e-5):
        super().__init__()
        self.pre_norm = pre_norm
        self.ln_1 = nn.LayerNorm(dim, eps=eps)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.ln_2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = FeedForward(dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None, weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """(B, T, dim) -> (B, T, dim) and this block's attention weights (B, heads, T, T), or
        None without `weights` (the fused kernel)."""
        if not self.pre_norm:
            attended, weights = self.attn(x, mask, weights)
            x = self.ln_1(x + attended)
            return self.ln_2(x + self.mlp(x)), weights
        attended, weights = self.attn(self.ln_1(x), mask, weights)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), weights


def init_normal(model: nn.Module, std: float = 0.02) -> None:
    """BERT's and GPT-2's initialisation: linear and embedding weights N(0, std), biases 0.
    PyTorch's default N(0, 1) embeddings make a tied output layer's first logits so large
    that the first loss is several times a uniform guess's."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
