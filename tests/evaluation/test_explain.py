"""Explanations point at what drives the prediction, for every family that has a spatial map."""

import pytest
import torch
from torch import nn

from mastery.evaluation.explain import attention_rollout, explain, grad_cam
from mastery.models import Standardized, build_model, list_models


@pytest.mark.parametrize("name", list_models("image", task="classification"))
def test_every_spatial_family_gets_maps_in_the_unit_range(name):
    torch.manual_seed(0)
    model = Standardized(build_model(name, in_shape=(1, 8, 8)), [0.5], [0.25])
    found = explain(model, torch.rand(3, 1, 8, 8))
    if name == "mlp":
        assert found is None
        return
    method, maps = found
    assert method == ("attention_rollout" if name.startswith("vit") else "grad_cam")
    assert maps.shape == (3, 8, 8) and maps.min() >= 0 and torch.allclose(maps.amax(dim=(1, 2)), torch.ones(3))


def test_grad_cam_lights_up_the_region_that_drives_the_logit():
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    net.head = nn.Linear(1, 2)
    net.forward = lambda x: net.head(net.features(x))
    with torch.no_grad():
        net.features[0].weight.fill_(1.0), net.features[0].bias.zero_()
        net.head.weight.copy_(torch.tensor([[1.0], [-1.0]])), net.head.bias.zero_()
    x = torch.zeros(1, 1, 8, 8)
    x[..., :3, 5:] = 1.0  # a bright patch top right
    cam = grad_cam(net, x)[0]
    assert cam[:3, 5:].mean() > 0.9 and cam[5:, :3].max() == 0


def test_attention_rollout_follows_the_class_token_to_its_patch():
    tokens, patch = 1 + 4, 2  # class token and a 2x2 grid of patches; it attends to patch 2
    weights = torch.eye(tokens).repeat(1, 3, 1, 1)  # (B=1, heads=3, T+1, T+1)
    weights[:, :, 0] = 0
    weights[:, :, 0, 1 + patch] = 1
    maps = attention_rollout([weights, weights], (8, 8))[0]
    centres = {(row, col): maps[row, col].item() for row in (1, 6) for col in (1, 6)}
    assert centres.pop((6, 1)) == pytest.approx(1.0)  # patch 2: the bottom left quadrant
    assert max(centres.values()) < 0.5
