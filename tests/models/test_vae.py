"""Zoo tests over every registered VAE: a posterior's mean and log-variance, pixel logits from a
code, a served reconstruction in [0, 1], every parameter learns through the task's loss, and a
trained (standardised) model encodes as its forward reads (their ONNX export: test_zoo.py)."""

import pytest
import torch

from mastery.models import Standardized, build_model, list_models
from mastery.tasks import build_task
from mastery.tasks.vae import bound_terms, importance_sampled_nll

FAMILIES = list_models("image", task="vae")


def test_the_vae_is_registered_apart_from_the_other_image_families():
    assert FAMILIES == ["mlp_vae"]
    assert not set(FAMILIES) & set(list_models("image", task="reconstruction"))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("in_shape", [(1, 8, 8), (1, 28, 28)])
def test_the_posterior_the_logits_and_the_served_reconstruction_have_their_shapes(name, in_shape):
    torch.manual_seed(0)
    model = build_model(name, in_shape=in_shape, latent=6).eval()
    x = torch.rand(3, *in_shape)
    with torch.no_grad():
        mean, log_var = model.encode(x)
        logits, out = model.decode(mean), model(x)
    assert mean.shape == log_var.shape == (3, 6) and logits.shape == x.shape
    assert torch.equal(out, torch.sigmoid(logits)) and out.min() >= 0 and out.max() <= 1
    assert torch.equal(torch.cat(model.encode(x), dim=1), model.features(x).detach())
    assert torch.equal(model.head(mean), logits)


@pytest.mark.parametrize("name", FAMILIES)
def test_every_parameter_gets_a_gradient_from_the_bound(name):
    model = build_model(name)
    recon, kl = bound_terms(model, (torch.rand(4, 1, 28, 28) > 0.5).float())
    (recon + kl).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


def test_a_standardised_vae_encodes_standardised_pixels_and_its_task_scores_it():
    torch.manual_seed(0)
    net = build_model("mlp_vae", in_shape=(1, 8, 8), latent=4, hidden=[16]).eval()
    model = Standardized(net, [0.3], [0.4]).eval()
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        for wrapped, bare in zip(model.encode(x), net.encode((x - 0.3) / 0.4), strict=True):
            torch.testing.assert_close(wrapped, bare)
        torch.testing.assert_close(model(x), torch.sigmoid(model.decode(model.encode(x)[0])))
        nll = importance_sampled_nll(model, (x > 0.5).float(), 10, torch.Generator().manual_seed(0))
    scores = build_task("vae", "image").scores(model, {"image": x}, {}, torch.device("cpu"))
    assert nll.shape == (5,) and set(scores.flat()) == {"test_neg_elbo", "test_nll", "test_recon", "test_kl"}
