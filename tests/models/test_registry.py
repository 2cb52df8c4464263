"""The registry is the only way in (the families themselves: test_zoo.py)."""

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
