"""Gradient checking: autograd against central finite differences (textbook ch. 2).

A hand-written backward pass is easy to get subtly wrong and still train, badly. The check
nudges each input element by +-eps, measures how the loss moves, and compares that slope
with the gradient autograd reports. It runs in float64: in float32 the rounding error of
f(x + eps) - f(x - eps) is as large as the difference itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class GradCheckResult:
    """Worst disagreement between analytic and numerical gradients over all elements."""

    max_abs_error: float
    max_rel_error: float
    passed: bool


def gradient_check(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> GradCheckResult:
    """Check the gradient of `fn(*inputs).sum()` for every input that requires grad.

    If `fn` is an `nn.Module`, its trainable parameters are checked too (on a float64
    copy, so the caller's module is untouched; pass it in eval mode if it has dropout).
    An element passes when |analytic - numerical| <= atol + rtol * |numerical|.
    """
    if isinstance(fn, nn.Module):
        fn = copy.deepcopy(fn).double()
    args = [_float64_copy(x) for x in inputs]
    params = list(fn.parameters()) if isinstance(fn, nn.Module) else []
    wrt = [t for t in args + params if t.requires_grad]
    if not wrt:
        raise ValueError("nothing to check: no input or parameter requires grad")

    def loss() -> Tensor:
        return fn(*args).sum()

    analytic = torch.autograd.grad(loss(), wrt, allow_unused=True)
    abs_errors, rel_errors, passed = [], [], True
    for tensor, grad in zip(wrt, analytic, strict=True):
        grad = torch.zeros_like(tensor) if grad is None else grad
        numeric = _numerical_gradient(loss, tensor, eps)
        abs_error = (grad - numeric).abs()
        scale = torch.maximum(grad.abs(), numeric.abs()).clamp_min(torch.finfo(grad.dtype).tiny)
        abs_errors.append(abs_error.max().item())
        rel_errors.append((abs_error / scale).max().item())
        passed &= bool((abs_error <= atol + rtol * numeric.abs()).all())
    return GradCheckResult(max(abs_errors), max(rel_errors), passed)


def _float64_copy(x: Tensor) -> Tensor:
    """A private contiguous float64 copy: the check perturbs it in place."""
    copied = x.detach().clone(memory_format=torch.contiguous_format).double()
    return copied.requires_grad_(x.requires_grad)


@torch.no_grad()
def _numerical_gradient(loss: Callable[[], Tensor], tensor: Tensor, eps: float) -> Tensor:
    """d loss / d tensor by central differences, one element at a time."""
    flat = tensor.view(-1)
    slopes = torch.empty_like(flat)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        f_plus = loss().item()
        flat[i] = original - eps
        f_minus = loss().item()
        flat[i] = original
        slopes[i] = (f_plus - f_minus) / (2 * eps)
    return slopes.view_as(tensor)
