"""Zoo tests over every registered family (timm style): shapes, gradients, head, learning, ONNX."""

import numpy as np
import pytest
import torch
from torch import nn

from mastery.export import export_onnx, onnx_predict, onnx_session
from mastery.models import Standardized, build_model, list_models

FAMILIES = list_models("image", task="classification")  # text: test_text_zoo.py; autoencoders: test_autoencoder.py
# every family that reads images, the autoencoders (a sparse one), the VAEs and the clusterers
# included; a generator reads noise (its export: tests/pipeline/test_generative_pipeline.py)
EXPORTED = sorted(set(list_models("image")) - set(list_models(task="gan")))
AUTOENCODERS = list_models("image", task="reconstruction")
IN_SHAPES = [(1, 8, 8), (1, 28, 28)]


def _build(name, in_shape=(1, 28, 28), num_classes=10, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, in_shape=in_shape, num_classes=num_classes)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("in_shape", IN_SHAPES)
@pytest.mark.parametrize("num_classes", [10, 7])
def test_output_is_one_finite_logit_per_class(name, in_shape, num_classes):
    model = _build(name, in_shape, num_classes).eval()
    with torch.no_grad():
        out = model(torch.rand(3, *in_shape))
    assert out.shape == (3, num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("in_shape", IN_SHAPES)
def test_every_parameter_gets_a_gradient(name, in_shape):
    model = _build(name, in_shape, num_classes=7)
    out = model(torch.rand(4, *in_shape))
    nn.functional.cross_entropy(out, torch.arange(4) % 7).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


@pytest.mark.parametrize("name", FAMILIES)
def test_head_maps_features_to_the_logits(name):
    """`features` then `head` is the whole model, so heads can be swapped and features frozen."""
    model = _build(name).eval()
    assert isinstance(model.features, nn.Module) and isinstance(model.head, nn.Module)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model.head(model.features(x)), model(x))


@pytest.mark.parametrize("name", FAMILIES)
def test_one_adam_step_lowers_the_loss_on_a_fixed_batch(name):
    model = _build(name)
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks before and after the step
        return nn.functional.cross_entropy(model(x), y)

    before = loss()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert loss() < before


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n.startswith("efficientnet") else n for n in EXPORTED]
)  # EfficientNet's many small ops take ~11 s each to export; the other families cover the path
def test_onnx_export_round_trips(name, tmp_path):
    torch.manual_seed(0)
    net = _build(name) if name in FAMILIES else build_model(name, **_exported_params(name))
    model = Standardized(net, [0.5], [0.25]).eval()
    path = export_onnx(model, {"image": torch.rand(2, 1, 28, 28)}, {"image": {0: "batch"}}, "logits",
                       tmp_path / f"{name}.onnx", {"model": name})
    session = onnx_session(path)
    for batch in (1, 3):
        x = torch.rand(batch, 1, 28, 28)
        with torch.no_grad():
            expected = model(x).numpy()
        np.testing.assert_allclose(onnx_predict(session, {"image": x.numpy()}), expected, atol=1e-4, rtol=0)


def _exported_params(name: str) -> dict:
    """What a family that is not a classifier is exported with: an autoencoder with a
    training-only penalty on its code, as the hardest case; a VAE as it is."""
    return {"sparsity": 0.1} if name in AUTOENCODERS else {}


def test_vgg_drops_the_pools_a_small_image_cannot_take():
    # 28 -> 14 -> 7 -> 3 and 8 -> 4 -> 2: the pools that would leave a 1x1 map or none are dropped
    assert _count(build_model("vgg16", in_shape=(1, 28, 28)), nn.MaxPool2d) == 3
    assert _count(build_model("vgg16", in_shape=(1, 8, 8)), nn.MaxPool2d) == 2
    assert _count(build_model("vgg11", batch_norm=True), nn.BatchNorm2d) == 8


def test_resnet_projects_the_skip_only_when_the_shape_changes():
    from mastery.models.resnet import BasicBlock

    model = build_model("resnet20")
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    projected = [b for b in blocks if not isinstance(b.skip, nn.Identity)]
    assert len(projected) == 2  # the first block of stages 2 and 3
    assert build_model("resnet18", width=0.25).head.in_features == 128


def test_efficientnet_scales_depth_width_and_resolution_together():
    from mastery.models.efficientnet import MBConv, round_channels

    b0, b1 = build_model("efficientnet_b0_small"), build_model("efficientnet_b1_small")
    # repeats (1, 2, 2, 3, 3) x 1.1, rounded up: (2, 3, 3, 4, 4)
    assert (_count(b0, MBConv), _count(b1, MBConv)) == (11, 16)
    assert (b0.config.resolution, b1.config.resolution) == (28, 30)
    assert b1(torch.rand(2, 1, 28, 28)).shape == (2, 10)  # upsampled to 30x30 inside
    assert round_channels(40, 1.1) == 48 and round_channels(16, 0.5) == 8
    widths = {block.block[-1].num_features for block in b1.modules() if isinstance(block, MBConv)}
    assert widths == {16, 24, 40, 80, 112}
    wide = build_model("efficientnet_b0_small", resolution=20)  # an explicit resolution wins
    assert wide.config.resolution == 20 and wide(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def _count(model: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize("in_shape", IN_SHAPES)
def test_convnet_stem_halves_the_map_and_separable_convs_cut_the_multiply_adds(in_shape):
    sides = []
    stem = build_model("convnet", in_shape=in_shape, channels=(8, 16, 16), stride=2, separable=True)
    for module in stem.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(lambda _, __, out: sides.append(out.shape[-1]))
    assert stem(torch.rand(2, *in_shape)).shape == (2, 10)
    half = -(-in_shape[-1] // 2)
    # the stem's conv, then each later block's depthwise and pointwise conv: no pool after the
    # stem, a pool after the second block while the map is larger than 4x4
    third = half // 2 if half > 4 else half
    assert sides == [half, half, half, third, third]
    depthwise = [m for m in stem.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [m.groups for m in depthwise] == [8, 16]  # never the stem: one input channel
    dense = build_model("convnet", in_shape=in_shape, channels=(8, 16, 16))
    assert sum(p.numel() for p in stem.parameters()) < sum(p.numel() for p in dense.parameters()) / 2
