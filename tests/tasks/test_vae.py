"""The VAE task: the closed-form KL is the KL, the importance-sampled NLL is a tighter bound
than the ELBO and is the ELBO at k = 1, the KL warm-up ramps, the reported bound weighs the
KL by 1, and a few hundred steps on toy digits lower the NLL."""

from __future__ import annotations

import math

import pytest
import torch

from mastery.config import TaskConfig
from mastery.models import build_model
from mastery.tasks import build_task
from mastery.tasks.vae import (
    binarise,
    bound_terms,
    gaussian_kl,
    importance_sampled_nll,
    log_weights,
)

SHAPE = (1, 8, 8)


def digits(n: int = 32, seed: int = 0) -> torch.Tensor:
    """Binary bars, one of four per image, each pixel flipped with probability 0.05: a few
    modes a small code can hold."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, *SHAPE)
    for i, kind in enumerate(torch.randint(4, (n,), generator=g).tolist()):
        images[i, 0, 2 * kind : 2 * kind + 2, :] = 1
    flips = torch.rand(images.shape, generator=g) < 0.05
    return (images + flips).remainder(2)


def vae(seed: int = 0, latent: int = 4):
    torch.manual_seed(seed)
    return build_model("mlp_vae", in_shape=SHAPE, latent=latent, hidden=[32])


def task(beta: float = 1.0, warmup: int = 0, samples: int = 500):
    return build_task("vae", "image", TaskConfig("vae", beta=beta, beta_warmup_steps=warmup, nll_samples=samples))


def test_binarisation_is_a_fixed_threshold_at_one_half():
    assert binarise(torch.tensor([0.0, 0.2, 0.5, 0.51, 1.0])).tolist() == [0, 0, 0, 1, 1]


def test_the_closed_form_kl_equals_a_monte_carlo_estimate():
    g = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    z = q.sample((200_000,))
    prior = torch.distributions.Normal(0.0, 1.0)
    monte_carlo = (q.log_prob(z) - prior.log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(gaussian_kl(mean, log_var), monte_carlo, rtol=0.02, atol=0.02)


@torch.no_grad()
def test_the_importance_sampled_nll_is_below_the_bound_and_is_the_elbo_at_one_sample():
    model, images = vae().eval(), digits(4)
    draws = images.repeat(5000, 1, 1, 1)  # many codes per image: the estimates' expectations
    recon, kl = bound_terms(model, draws, torch.Generator().manual_seed(1))
    neg_elbo = (recon + kl).view(5000, 4).mean(0)
    one_sample = -log_weights(model, images, 5000, torch.Generator().manual_seed(2)).mean(0)
    torch.testing.assert_close(one_sample, neg_elbo, rtol=0, atol=0.1)  # E[-log w] = -ELBO
    nll = importance_sampled_nll(model, images, 500, torch.Generator().manual_seed(3))
    assert (nll < neg_elbo).all()
    k1 = importance_sampled_nll(model, draws, 1, torch.Generator().manual_seed(4)).view(5000, 4).mean(0)
    torch.testing.assert_close(k1, neg_elbo, rtol=0, atol=0.1)


def test_the_nll_estimate_does_not_depend_on_how_it_is_chunked(monkeypatch):
    model, images = vae().eval(), digits(10)
    with torch.no_grad():
        whole = importance_sampled_nll(model, images, 500, torch.Generator().manual_seed(0))
        monkeypatch.setattr("mastery.tasks.vae.NLL_CODES_AT_ONCE", 1500)  # three images a chunk
        chunked = importance_sampled_nll(model, images, 500, torch.Generator().manual_seed(0))
    assert whole.shape == (10,) and not torch.equal(whole, chunked)  # other codes, the same estimate
    torch.testing.assert_close(whole, chunked, rtol=0, atol=0.3)  # nats, of about 45


def steps(vae_task, model, data: torch.Tensor, count: int, lr: float = 3e-3) -> list[tuple[float, dict]]:
    """`count` Adam steps of the task's own training step; the beta and the sums of each."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step(_name, loss):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    torch.manual_seed(0)
    return [(vae_task.beta(model), vae_task.training_step(model.train(), {"image": data}, step)[0]) for _ in range(count)]


def test_the_kl_weight_warms_up_linearly_and_the_reported_bound_weighs_it_by_one():
    warming = task(beta=0.5, warmup=4)
    records = steps(warming, vae(), digits(), 6)
    assert [beta for beta, _ in records] == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]
    for beta, sums in records:
        assert sums["neg_elbo"] == pytest.approx((sums["recon"] + sums["kl"]).item(), rel=1e-6)
        assert sums["loss"] == pytest.approx((sums["recon"] + beta * sums["kl"]).item(), rel=1e-6)
    assert [beta for beta, _ in steps(warming, vae(), digits(), 2)] == [0.0, 0.125]  # another model warms up anew
    assert task(beta=2.0).beta(vae()) == 2.0  # no warm-up: beta from the first step


def test_validation_reports_the_bound_on_the_same_codes_every_time():
    model, split = vae().eval(), {"image": digits(16) * 0.9}  # grey pixels: binarised inside
    with torch.no_grad():
        first, second = (task(beta=0.3).eval_step(model, split)[0] for _ in range(2))
    assert first["neg_elbo"] == second["neg_elbo"]
    assert first["loss"] == pytest.approx((first["recon"] + 0.3 * first["kl"]).item(), rel=1e-6)


def test_a_few_hundred_steps_lower_the_importance_sampled_nll():
    data, model, judged = digits(64), vae(), task(samples=100, warmup=100)
    split = {"image": data}
    before = judged.scores(model, split, {}, torch.device("cpu"))
    steps(judged, model, data, 300)
    after = judged.scores(model, split, {}, torch.device("cpu"))
    assert after.flat()["test_nll"] < 0.5 * before.flat()["test_nll"]
    assert after.flat()["test_nll"] < 20 < 64 * math.log(2)  # far below a coin per pixel
    assert after.flat()["test_nll"] <= after.flat()["test_neg_elbo"]
    assert after.per_example("nll").mean() == pytest.approx(after.flat()["test_nll"])
    assert after.report()["elbo_gap"] >= 0 and after.report()["importance_samples"] == 100
    with pytest.raises(ValueError, match="per-example"):
        after.per_example("kl")
