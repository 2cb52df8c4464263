import math

import pytest
import torch
from torch import nn

from mastery.training.init import initialize


def net() -> nn.Module:
    # fan_in: conv 16*3*3 = 144, linear 1000; fan_out: linear 500
    return nn.Sequential(nn.Conv2d(16, 32, 3), nn.Flatten(), nn.Linear(1000, 500))


def weights(model):
    return [m.weight for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]


def biases(model):
    return [m.bias for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("scheme", ["zeros", "normal", "xavier", "he"])
def test_biases_start_at_zero(scheme):
    model = net()
    initialize(model, scheme)
    assert all(torch.count_nonzero(b) == 0 for b in biases(model))


def test_zeros():
    model = net()
    initialize(model, "zeros")
    assert all(torch.count_nonzero(w) == 0 for w in weights(model))


def test_normal_has_std_one_hundredth():
    model = net()
    initialize(model, "normal")
    for w in weights(model):
        assert w.mean().item() == pytest.approx(0.0, abs=1e-3)
        assert w.std().item() == pytest.approx(0.01, rel=0.05)


def test_he_has_std_sqrt_two_over_fan_in():
    model = net()
    initialize(model, "he")
    conv, linear = weights(model)
    assert conv.std().item() == pytest.approx(math.sqrt(2 / 144), rel=0.05)
    assert linear.std().item() == pytest.approx(math.sqrt(2 / 1000), rel=0.05)


def test_xavier_is_uniform_within_its_bound():
    model = net()
    initialize(model, "xavier")
    linear = weights(model)[1]
    bound = math.sqrt(6 / (1000 + 500))
    assert linear.abs().max().item() <= bound
    assert linear.abs().max().item() == pytest.approx(bound, rel=0.01)
    assert linear.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_default_leaves_pytorch_init_alone():
    model = net()
    before = [p.clone() for p in model.parameters()]
    initialize(model, "default")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_seeded_by_the_global_rng():
    first, second = net(), net()
    torch.manual_seed(7)
    initialize(first, "he")
    torch.manual_seed(7)
    initialize(second, "he")
    pairs = zip(first.parameters(), second.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
