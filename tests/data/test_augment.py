import pytest
import torch

from mastery.config import AugmentationConfig
from mastery.data.augment import Augmenter, translate


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def one_hot_images(n: int, row: int = 14, col: int = 14) -> torch.Tensor:
    x = torch.zeros(n, 1, 28, 28)
    x[:, 0, row, col] = 1
    return x


def hot_pixel(x: torch.Tensor) -> torch.Tensor:
    """(row, col) of the single lit pixel of each image: (B, 2)."""
    flat = x.flatten(1).argmax(1)
    return torch.stack([flat // x.shape[-1], flat % x.shape[-1]], 1)


def naive_translate(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference, one image at a time: out[i, j] = image[i - dy, j - dx] or 0."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[..., i, j] = image[..., i - dy, j - dx]
    return out


def test_translate_moves_a_pixel_by_the_given_amount():
    dy, dx = torch.tensor([2, -3, 0, 1]), torch.tensor([-1, 3, 0, 3])
    out = translate(one_hot_images(4), dy, dx, max_shift=3)
    assert hot_pixel(out).tolist() == [[16, 13], [11, 17], [14, 14], [15, 17]]


def test_translate_matches_a_per_image_reference():
    x = torch.randn(6, 2, 7, 5)
    dy, dx = torch.tensor([0, 1, -2, 2, -1, 2]), torch.tensor([2, -2, 0, 1, -1, -2])
    out = translate(x, dy, dx, max_shift=2)
    for b in range(6):
        assert torch.equal(out[b], naive_translate(x[b], dy[b].item(), dx[b].item()))


def test_content_pushed_past_the_edge_is_dropped():
    out = translate(one_hot_images(1, row=0, col=27), torch.tensor([-1]), torch.tensor([0]), 1)
    assert torch.count_nonzero(out) == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_are_kept(dtype):
    x = torch.randn(8, 3, 12, 10, dtype=dtype)
    out = Augmenter(AugmentationConfig(shift=2, hflip=True, noise_std=0.1))(x, seeded())
    assert out.shape == x.shape
    assert out.dtype == dtype


def test_shift_draws_every_offset_within_range_per_sample():
    out = Augmenter(AugmentationConfig(shift=2))(one_hot_images(400), seeded())
    assert torch.equal(out.flatten(1).sum(1), torch.ones(400))  # moved, not blurred
    offsets = {tuple(p) for p in (hot_pixel(out) - 14).tolist()}
    assert offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_shift_moves_the_whole_image_by_the_drawn_offset():
    x = torch.randn(16, 2, 28, 28)
    x[:, 0] = one_hot_images(16)[:, 0]  # channel 0 marks where the draw sent each image
    out = Augmenter(AugmentationConfig(shift=3))(x, seeded())
    for b, (row, col) in enumerate(hot_pixel(out[:, :1]).tolist()):
        assert torch.equal(out[b, 1], naive_translate(x[b, 1], row - 14, col - 14))


def test_hflip_mirrors_about_half_the_batch():
    x = torch.randn(200, 1, 5, 5)
    out = Augmenter(AugmentationConfig(hflip=True))(x, seeded())
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (flipped ^ kept).all()
    assert 70 < flipped.sum() < 130


def test_noise_has_the_configured_std():
    out = Augmenter(AugmentationConfig(noise_std=0.3))(torch.zeros(64, 1, 28, 28), seeded())
    assert out.mean().item() == pytest.approx(0.0, abs=0.01)
    assert out.std().item() == pytest.approx(0.3, rel=0.02)


def test_disabled_augmenter_is_the_identity():
    augmenter = Augmenter(AugmentationConfig())
    x = torch.randn(4, 1, 28, 28)
    assert not augmenter.enabled
    assert augmenter(x, seeded()) is x


@pytest.mark.parametrize("cfg", [{"shift": 1}, {"hflip": True}, {"noise_std": 0.1}])
def test_any_transform_enables(cfg):
    assert Augmenter(AugmentationConfig(**cfg)).enabled


def test_a_seeded_generator_makes_it_deterministic():
    augmenter = Augmenter(AugmentationConfig(shift=2, hflip=True, noise_std=0.1))
    x = torch.randn(32, 1, 28, 28)
    assert torch.equal(augmenter(x, seeded(1)), augmenter(x, seeded(1)))
    assert not torch.equal(augmenter(x, seeded(1)), augmenter(x, seeded(2)))
