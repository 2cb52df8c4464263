"""The reconstruction task: the target stays clean under noise, the eval noise is fixed and
seeded, a sparse code is penalised, and PSNR, SSIM and the median baseline are what they claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import median_filter

from mastery.config import AugmentationConfig, TaskConfig, TrainConfig
from mastery.evaluation.reconstruction import PSNR_CAP, psnr, ssim
from mastery.models import build_model
from mastery.tasks import build_task

SHAPE = (1, 8, 8)


def images(n: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth blobs in [0, 1]: what a median filter helps and a code can hold."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, 1, 1, generator=g) * 6 + 1
    y, x = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    return torch.exp(-((y - centre[:, 0]) ** 2 + (x - centre[:, 1]) ** 2) / 6)[:, None]


def task(noise_std: float = 0.0, seed: int = 0):
    return build_task("reconstruction", "image", TaskConfig("reconstruction", noise_std, seed))


def recipe(noise_std: float = 0.0, **augmentation) -> TrainConfig:
    return TrainConfig(augmentation=AugmentationConfig(noise_std=noise_std, **augmentation))


def test_training_noise_corrupts_the_input_and_the_target_stays_clean():
    clean = images()
    transform = task().train_transform(recipe(noise_std=0.3))
    batch = transform({"image": clean}, torch.Generator().manual_seed(1))
    assert torch.equal(batch["clean"], clean)
    assert batch["image"].min() >= 0 and batch["image"].max() <= 1  # clipped
    assert (batch["image"] - clean).abs().mean() > 0.1
    assert task().loss(clean, batch) == 0 and task().loss(batch["image"], batch) > 0
    assert task().train_transform(recipe()) is None  # nothing to do: the trainer skips it


def test_a_shifted_image_is_its_own_target():
    transform = task().train_transform(recipe(shift=2))
    batch = transform({"image": images()}, torch.Generator().manual_seed(1))
    assert not torch.equal(batch["clean"], images()) and torch.equal(batch["image"], batch["clean"])


def test_eval_noise_is_fixed_by_its_seed_for_every_batch_size():
    split = {"image": images(40), "label": torch.zeros(40)}
    noisy = torch.cat([b["image"] for b in task(0.2).eval_batches(split, 7)])
    assert torch.equal(noisy, torch.cat([b["image"] for b in task(0.2).eval_batches(split, 40)]))
    assert not torch.equal(noisy, task(0.2, seed=1).corrupted(split)["image"])
    assert (noisy - split["image"]).std() == pytest.approx(0.2, rel=0.25)  # clipping trims a little
    assert all(torch.equal(b["clean"], split["image"][:7]) for b in list(task(0.2).eval_batches(split, 7))[:1])
    assert torch.equal(task(0.0).corrupted(split)["image"], split["image"])


def test_psnr_is_known_for_a_known_error_and_capped_for_a_copy():
    x = torch.full((2, *SHAPE), 0.5)
    assert psnr(x, x).tolist() == [PSNR_CAP, PSNR_CAP]
    assert psnr(x + 0.1, x)[0].item() == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    assert psnr(x + 0.01, x)[0].item() == pytest.approx(40.0, abs=1e-3)


def test_ssim_is_one_for_a_copy_and_falls_with_the_noise():
    x = images(4, seed=3)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    scores = [ssim((x + std * noise).clamp(0, 1), x).mean().item() for std in (0.0, 0.05, 0.2, 0.5)]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.5
    big = torch.rand(2, 1, 28, 28)
    assert ssim(big, big).tolist() == pytest.approx([1.0, 1.0], abs=1e-6)  # the full 11x11 window


def test_scores_set_the_model_beside_the_noisy_input_and_the_median_filter_at_the_same_noise():
    split = {"image": images(32), "label": torch.zeros(32)}
    judged = task(0.2, seed=5)
    noisy = judged.corrupted(split)["image"]
    scores = judged.score(split["image"].clone(), split, {})  # a perfect denoiser
    assert torch.equal(scores.noisy, noisy)
    np.testing.assert_array_equal(scores.median.numpy(), median_filter(noisy.numpy(), size=(1, 1, 3, 3)))
    flat = scores.flat()
    assert flat["test_psnr"] == PSNR_CAP and flat["test_ssim"] == pytest.approx(1.0)
    assert flat["test_psnr_noisy"] < flat["test_psnr_median3"] < PSNR_CAP  # the filter helps smooth images
    assert flat["test_psnr_noisy"] == pytest.approx(psnr(noisy, split["image"]).mean().item(), rel=1e-6)
    assert scores.per_example("psnr").mean() == pytest.approx(flat["test_psnr"])
    assert scores.report()["images"] == 32 and scores.report()["noise_std"] == 0.2
    with pytest.raises(ValueError, match="per-example"):
        scores.per_example("psnr_median3")


def steps(model, config: TrainConfig, count: int, data: torch.Tensor) -> list[dict]:
    """`count` Adam steps of the task's own training step on `data`; the sums of each."""
    reconstruction, optimizer = task(), torch.optim.Adam(model.parameters(), lr=3e-3)

    def step(_name, loss):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    torch.manual_seed(0)
    return [reconstruction.training_step(model.train(), {"image": data}, step)[0] for _ in range(count)]


def mean_code(model, data) -> float:
    with torch.no_grad():
        return model.eval().encode(data).abs().mean().item()


def test_an_l1_penalty_is_minimised_with_the_loss_and_shrinks_the_code():
    data = images(64)
    torch.manual_seed(0)
    plain = build_model("mlp_autoencoder", in_shape=SHAPE, code=16, hidden=[32])
    torch.manual_seed(0)
    sparse = build_model("mlp_autoencoder", in_shape=SHAPE, code=16, hidden=[32], sparsity=0.05)
    plain_sums, sparse_sums = steps(plain, TrainConfig(), 150, data), steps(sparse, TrainConfig(), 150, data)
    assert plain_sums[0]["penalty"] == 0 and sparse_sums[0]["penalty"] > 0
    # the same start: the first reported reconstruction loss agrees, the penalty is on top
    assert sparse_sums[0]["loss"] == pytest.approx(plain_sums[0]["loss"].item())
    with torch.no_grad():
        sparse.train()(data)
    assert sparse.code_penalty.item() == pytest.approx(0.05 * sparse.encode(data).abs().sum(1).mean().item(), rel=1e-5)
    assert mean_code(sparse, data) < 0.5 * mean_code(plain, data)


def test_a_kl_penalty_pulls_each_units_mean_activation_to_the_target():
    data = images(64)
    torch.manual_seed(0)
    model = build_model("mlp_autoencoder", in_shape=SHAPE, code=16, hidden=[32], sparsity=0.5, sparsity_kind="kl",
                        sparsity_target=0.05)
    with torch.no_grad():
        before = model.eval().encode(data).mean().item()
    sums = steps(model, TrainConfig(), 200, data)
    with torch.no_grad():
        rates = model.eval().encode(data).mean(dim=0)
    assert before > 0.3 and rates.mean().item() < 0.15 and (rates > 0).all() and (rates < 1).all()
    assert sums[-1]["penalty"] < sums[0]["penalty"]
    assert math.isfinite(sums[-1]["loss"].item())
