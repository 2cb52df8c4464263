"""The written-out transformer parts against PyTorch's fused attention, masks included."""

import math

import pytest
import torch
from torch.nn import functional as F

from mastery.models.transformer import (
    Block,
    MultiHeadAttention,
    attention,
    causal_mask,
    padding_mask,
    sinusoidal_positions,
)


def _qkv(batch=2, heads=3, steps=6, dim=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, steps, dim, generator=generator) for _ in range(3)]


LENGTHS = torch.tensor([6, 3])


@pytest.mark.parametrize("masking", ["none", "causal", "padding", "causal+padding"])
def test_attention_is_what_scaled_dot_product_attention_computes(masking):
    q, k, v = _qkv()
    mask = None
    if "causal" in masking:
        mask = causal_mask(6)
    if "padding" in masking:
        mask = padding_mask(LENGTHS, 6) if mask is None else mask & padding_mask(LENGTHS, 6)
    found, weights = attention(q, k, v, mask)
    torch.testing.assert_close(found, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-6, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 6))
    if mask is not None:
        assert not weights.masked_select(~mask.expand_as(weights)).any()  # nothing reaches a masked key


def test_the_causal_mask_is_the_fused_kernel_s_causal_flag():
    q, k, v = _qkv(steps=5)
    found, weights = attention(q, k, v, causal_mask(5))
    torch.testing.assert_close(found, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6, rtol=0)
    assert not weights.triu(diagonal=1).any()  # query i sees keys 0..i


def test_multi_head_attention_is_its_projections_around_the_fused_kernel():
    torch.manual_seed(0)
    layer = MultiHeadAttention(dim=12, heads=3).eval()
    x = torch.randn(2, 6, 12)
    mask = padding_mask(LENGTHS, 6)
    found, weights = layer(x, mask)
    q, k, v = layer.qkv(x).view(2, 6, 3, 3, 4).permute(2, 0, 3, 1, 4)  # (B, h, T, d) each
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(2, 6, 12)
    torch.testing.assert_close(found, layer.proj(expected), atol=1e-6, rtol=0)
    assert weights.shape == (2, 3, 6, 6)


def test_padding_never_reaches_a_real_token():
    """What sits in the padding of a short text changes none of its real tokens' outputs."""
    torch.manual_seed(0)
    block = Block(dim=12, heads=3, mlp_ratio=2.0).eval()
    x = torch.randn(2, 6, 12)
    noisy = x.clone()
    noisy[1, 3:] = torch.randn(3, 12) * 100  # text 1 has 3 tokens
    mask = padding_mask(LENGTHS, 6)
    with torch.no_grad():
        clean, _ = block(x, mask)
        moved, _ = block(noisy, mask)
    torch.testing.assert_close(moved[1, :3], clean[1, :3])
    torch.testing.assert_close(moved[0], clean[0])


def test_sinusoidal_positions_follow_the_formula():
    table = sinusoidal_positions(50, 16)
    position, i = 7, 3
    angle = position / 10000 ** (2 * i / 16)
    assert table[position, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[position, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert sinusoidal_positions(5, 7).shape == (5, 7)  # an odd width too


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="dim 10 is not divisible by heads 3"):
        MultiHeadAttention(10, 3)


@pytest.mark.parametrize("pre_norm", [True, False])
def test_a_block_computes_the_same_with_the_fused_kernel(pre_norm):
    """Models train on the fused kernel and draw attention maps with the written-out one."""
    torch.manual_seed(0)
    block = Block(dim=12, heads=3, mlp_ratio=2.0, pre_norm=pre_norm).eval()
    x, mask = torch.randn(2, 6, 12), padding_mask(LENGTHS, 6)
    written, weights = block(x, mask, weights=True)
    fused, none = block(x, mask, weights=False)
    torch.testing.assert_close(fused, written, atol=1e-5, rtol=0)
    assert none is None and weights.shape == (2, 3, 6, 6)
