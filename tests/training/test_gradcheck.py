import pytest
import torch
from torch import nn

from mastery.training.gradcheck import gradient_check


class Sigmoid(torch.autograd.Function):
    """sigma'(x) = sigma(x) (1 - sigma(x))."""

    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y * (1 - y)


class BrokenSigmoid(Sigmoid):
    """A classic slip: forgets the (1 - sigma) factor."""

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y


def test_passes_on_a_correct_backward():
    x = torch.randn(3, 4, requires_grad=True)
    result = gradient_check(Sigmoid.apply, x)
    assert result.passed
    assert result.max_abs_error < 1e-8


def test_fails_on_a_wrong_backward():
    x = torch.randn(3, 4, requires_grad=True)
    result = gradient_check(BrokenSigmoid.apply, x)
    assert not result.passed
    assert result.max_rel_error > 0.1


def test_checks_only_inputs_that_require_grad():
    x = torch.randn(5, requires_grad=True)
    scale = torch.randn(5)  # constant: a wrong gradient for it would go unnoticed anyway
    assert gradient_check(lambda a, b: Sigmoid.apply(a) * b, x, scale).passed
    with pytest.raises(ValueError, match="requires grad"):
        gradient_check(Sigmoid.apply, torch.randn(5))


def test_checks_module_parameters_on_a_copy():
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    before = layer.weight.clone()
    result = gradient_check(nn.Sequential(layer, nn.Tanh()), torch.randn(4, 3))
    assert result.passed
    assert layer.weight.dtype == torch.float32
    assert torch.equal(layer.weight, before)


def test_module_parameters_are_checked_even_when_no_input_requires_grad():
    class BrokenLayer(nn.Linear):
        def forward(self, x):
            return BrokenSigmoid.apply(super().forward(x))

    assert not gradient_check(BrokenLayer(3, 2), torch.randn(4, 3)).passed
