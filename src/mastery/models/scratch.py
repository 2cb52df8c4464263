"""A dense layer written from scratch, forward and backward by hand (textbook ch. 2).

What autograd does for every other layer, spelled out: for y = x W^T + b and an upstream
gradient g = dL/dy, dL/dx = g W, dL/dW = g^T x, dL/db = the sum of g over the batch.
`mastery.training.gradcheck` holds this backward to finite differences.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class DenseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:  # (B, in), (out, in), (out,)
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias  # (B, out)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # grad: (B, out)
        x, weight = ctx.saved_tensors
        return grad @ weight, grad.T @ x, grad.sum(dim=0)


class ScratchDense(nn.Module):
    """nn.Linear's job with the hand-written backward above, and nn.Linear's initial range."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:  # (B, in) -> (B, out)
        return DenseFunction.apply(x, self.weight, self.bias)
