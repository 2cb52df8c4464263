"""The registry is the only way in; every family builds, runs and learns on each input size."""

import pytest
import torch
from torch import nn

from mastery.models import Standardize, build_model, list_models, register_model


def test_registry_refuses_duplicates_and_unknown_names():
    assert {"mlp", "lenet5"} <= set(list_models())
    def mlp():  # same name as the built-in family
        return nn.Identity()

    with pytest.raises(ValueError, match="'mlp' is already registered"):
        register_model(mlp)
    with pytest.raises(KeyError, match="unknown model 'resnet999'"):
        build_model("resnet999")
    with pytest.raises(TypeError, match="model 'mlp'"):
        build_model("mlp", widht=3)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("in_shape", [(1, 8, 8), (1, 28, 28)])
def test_family_shapes_and_gradients(name, in_shape):
    torch.manual_seed(0)
    model = build_model(name, in_shape=in_shape, num_classes=7)
    x = torch.rand(5, *in_shape)
    out = model(x)
    assert out.shape == (5, 7) and torch.isfinite(out).all()
    nn.functional.cross_entropy(out, torch.arange(5) % 7).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", list_models())
def test_one_step_lowers_loss_on_a_fixed_batch(name):
    torch.manual_seed(0)
    model = build_model(name, in_shape=(1, 28, 28), num_classes=10)
    x, y = torch.rand(32, 1, 28, 28), torch.arange(32) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = nn.functional.cross_entropy(model(x), y)
    before.backward()
    optimizer.step()
    assert nn.functional.cross_entropy(model(x), y) < before


def test_mlp_honours_depth_width_activation_dropout():
    model = build_model("mlp", in_shape=(1, 8, 8), hidden=(32, 16, 8), activation="gelu", dropout=0.3)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [32, 16, 8, 10]
    assert sum(isinstance(m, nn.GELU) for m in model.modules()) == 3
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 3
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        build_model("mlp", activation="swishy")


def test_standardize_uses_channel_statistics():
    layer = Standardize([0.5], [0.25])
    x = torch.full((2, 1, 3, 3), 0.75)
    assert torch.allclose(layer(x), torch.ones_like(x))
