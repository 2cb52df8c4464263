"""Zoo tests over every registered autoencoder: an image back in [0, 1], encoder then decoder is
the whole model, every parameter learns (their ONNX export: test_zoo.py)."""

import pytest
import torch
from torch import nn

from mastery.models import build_model, list_models

FAMILIES = list_models("image", task="reconstruction")
IN_SHAPES = [(1, 8, 8), (1, 28, 28)]


def test_both_autoencoders_are_registered_apart_from_the_classifiers():
    assert FAMILIES == ["conv_autoencoder", "mlp_autoencoder"]
    assert not set(FAMILIES) & set(list_models("image", task="classification"))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("in_shape", IN_SHAPES)
def test_the_output_is_an_image_of_the_input_shape_in_the_unit_range(name, in_shape):
    torch.manual_seed(0)
    model = build_model(name, in_shape=in_shape, code=12).eval()
    x = torch.rand(3, *in_shape)
    with torch.no_grad():
        out, code = model(x), model.encode(x)
        assert torch.equal(model.decode(code), out) and torch.equal(model.head(model.features(x)), out)
    assert out.shape == x.shape and code.shape == (3, 12)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", FAMILIES)
def test_every_parameter_gets_a_gradient(name):
    model = build_model(name, sparsity=0.1)
    x = torch.rand(4, 1, 28, 28)
    (nn.functional.mse_loss(model(x), x) + model.code_penalty).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


def test_a_kl_code_is_a_rate_and_the_conv_stages_must_fit_the_image():
    model = build_model("conv_autoencoder", sparsity=0.1, sparsity_kind="kl").eval()
    with torch.no_grad():
        code = model.encode(torch.rand(5, 1, 28, 28))
    assert code.min() > 0 and code.max() < 1
    with pytest.raises(ValueError, match="does not halve 3 times"):
        build_model("conv_autoencoder", channels=[8, 8, 8])  # 28 -> 14 -> 7 -> ?
    with pytest.raises(ValueError, match="sparsity_kind"):
        build_model("mlp_autoencoder", sparsity_kind="l2")
