"""Variational autoencoders (textbook ch. 7; Kingma & Welling, 2014): maximise a lower bound on
the likelihood of binarised images, and judge the model by an estimate of the likelihood itself.

Pixels in [0, 1] are binarised by a fixed threshold at 0.5 (not resampled as Bernoulli draws
each epoch): every epoch, candidate and test estimate meets the same binary images. The
decoder gives Bernoulli logits; per image, in nats, -ELBO = -log p(x|z) (binary cross-entropy
summed over pixels, one reparameterised code z ~ q(z|x)) + KL(q(z|x) || N(0, I)) (closed form).
Training minimises recon + beta * KL, beta from the spec's `task.beta`, ramped linearly from 0
over `task.beta_warmup_steps` optimizer steps (a KL warm-up, Bowman et al., 2016): the task
counts the steps each model takes, so the ramp needs no epoch and every candidate of a spec
(or trial of a search) warms up from 0. The reported `neg_elbo` always weighs
the KL by 1, a true bound comparable across runs whatever their beta.

The test negative log-likelihood is the importance-weighted estimate (Burda et al., 2016) with
k = `task.nll_samples` codes from q per image: -log p(x) ~ log k - logsumexp_k [log p(x|z_k) +
log p(z_k) - log q(z_k|x)], an upper bound on the true NLL that tightens as k grows and is the
one-sample -ELBO at k = 1. It needs the model, not its outputs, so the task overrides `scores`.
The task reaches the family's `encode` and `decode` through the model it is given (a trained
one is `Standardized`, whose pass-throughs standardise the encoder's input as its forward does).
Two limits, for now: data-parallel training (`train.processes` > 1) wraps the model in DDP,
which passes no `encode` through; and the warm-up's step count is not checkpointed, so a
resumed run ramps the KL weight again from 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from weakref import WeakKeyDictionary

import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn

from mastery.tasks.base import Batch, Stepper, Sums, Task
from mastery.tasks.metrics import Metric, MetricTable
from mastery.tasks.reconstruction import FIGURE_IMAGES, unit_image_specs
from mastery.tasks.registry import register_task

THRESHOLD = 0.5  # a pixel above it is on
EVAL_SEED = 0  # the codes val and test bounds are estimated with, and the prior noise figures decode
TRAVERSED = 4  # latent dimensions a traversal varies: those with the most KL, which the decoder reads
NLL_CODES_AT_ONCE = 20_000  # images x samples decoded in one chunk of the likelihood estimate


def binarise(images: Tensor) -> Tensor:
    """Pixels in [0, 1] to 0 or 1 at the fixed threshold."""
    return (images > THRESHOLD).to(images.dtype)


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) in closed form, summed over the latent dimensions: (B,)."""
    return kl_per_dimension(mean, log_var).sum(dim=-1)


def kl_per_dimension(mean: Tensor, log_var: Tensor) -> Tensor:
    """Each latent dimension's share of the KL (B, latent): near 0 for one the model leaves unused."""
    return 0.5 * (mean.square() + log_var.exp() - 1 - log_var)


def bernoulli_log_likelihood(logits: Tensor, images: Tensor) -> Tensor:
    """log p(x|z) of binary images (B, C, H, W) under pixel logits (..., B, C, H, W), summed over pixels: (..., B)."""
    return -F.binary_cross_entropy_with_logits(logits, images.expand_as(logits), reduction="none").flatten(-3).sum(-1)


def sample_codes(mean: Tensor, log_var: Tensor, samples: int, generator: Generator | None = None) -> tuple[Tensor, Tensor]:
    """`samples` reparameterised codes z = mean + std * eps per posterior, and their eps: (S, B, latent) each.
    The gradient reaches mean and log_var through z, which is the point of the trick."""
    eps = torch.randn((samples, *mean.shape), generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + (0.5 * log_var).exp() * eps, eps


def bound_terms(model: nn.Module, images: Tensor, generator: Generator | None = None) -> tuple[Tensor, Tensor]:
    """The -ELBO's two terms per binary image, in nats: -log p(x|z) on one reparameterised code,
    and the closed-form KL of the posterior from the prior: (B,) each."""
    mean, log_var = model.encode(images)
    code, _ = sample_codes(mean, log_var, 1, generator)
    return -bernoulli_log_likelihood(model.decode(code[0]), images), gaussian_kl(mean, log_var)


def log_weights(model: nn.Module, images: Tensor, samples: int, generator: Generator | None = None) -> Tensor:
    """log p(x|z) + log p(z) - log q(z|x) for `samples` codes from q(z|x) per image: (S, B)."""
    mean, log_var = model.encode(images)
    code, eps = sample_codes(mean, log_var, samples, generator)
    logits = model.decode(code.flatten(0, 1)).unflatten(0, (samples, len(images)))  # (S, B, C, H, W)
    # log N(z; 0, I) - log N(z; mean, std): the 2 pi terms cancel and (z - mean) / std is eps
    log_ratio = -0.5 * (code.square() - eps.square() - log_var).sum(dim=-1)
    return bernoulli_log_likelihood(logits, images) + log_ratio


def importance_sampled_nll(model: nn.Module, images: Tensor, samples: int, generator: Generator | None = None) -> Tensor:
    """-log p(x) per binary image, estimated from `samples` importance-weighted codes: (B,)."""
    chunk = max(1, NLL_CODES_AT_ONCE // samples)
    return torch.cat([math.log(samples) - log_weights(model, images[i : i + chunk], samples, generator).logsumexp(0)
                      for i in range(0, len(images), chunk)])


def prior_noise(count: int, latent: int, device: torch.device) -> Tensor:
    """The same `count` codes from N(0, I) every call: samples comparable epoch to epoch."""
    return torch.randn(count, latent, generator=torch.Generator().manual_seed(EVAL_SEED)).to(device)


@register_task
class VAE(Task):
    name = "vae"
    metrics = MetricTable((Metric("neg_elbo", "minimize", per_example=True), Metric("nll", "minimize", per_example=True)),
                          headline=("nll", "neg_elbo"))
    inputs = ("image",)
    output = "reconstruction"

    def __init__(self, modality: str, config=None):
        super().__init__(modality, config)
        self.steps_taken: WeakKeyDictionary[nn.Module, int] = WeakKeyDictionary()  # the warm-up's clock, per model

    def beta(self, model: nn.Module) -> float:
        """The KL weight of `model`'s next training step: linear from 0 to `task.beta` over the warm-up."""
        warmup = self.config.beta_warmup_steps
        return self.config.beta * min(1.0, self.steps_taken.get(model, 0) / warmup) if warmup else self.config.beta

    def output_specs(self, stats: dict) -> tuple:
        return unit_image_specs(self.output, stats)

    def training_step(self, model: nn.Module, batch: Batch, step: Stepper) -> tuple[Sums, int]:
        beta = self.beta(model)
        recon, kl = bound_terms(model, binarise(batch["image"]))
        step("model", (recon + beta * kl).mean())
        self.steps_taken[model] = self.steps_taken.get(model, 0) + 1
        return bound_sums(recon.detach(), kl.detach(), beta), len(recon)

    def eval_step(self, model: nn.Module, batch: Batch) -> tuple[Sums, int]:
        """The bound on one code per image drawn from a fixed seed: epochs meet the same noise."""
        images = binarise(batch["image"])
        recon, kl = bound_terms(model, images, torch.Generator(images.device).manual_seed(EVAL_SEED))
        return bound_sums(recon.float(), kl.float(), self.config.beta), len(recon)

    @torch.inference_mode()
    def scores(self, model: nn.Module, split: Batch, meta: dict, device: torch.device):
        """Each test image's -ELBO and importance-sampled NLL, from seeded codes."""
        from mastery.evaluation.vae import VAEScores

        model = model.to(device).eval()
        images = binarise(split["image"].float().to(device))
        generator = torch.Generator(device).manual_seed(EVAL_SEED)
        recon, kl = bound_terms(model, images, generator)
        nll = importance_sampled_nll(model, images, self.config.nll_samples, generator)
        return VAEScores(recon=recon.cpu(), kl=kl.cpu(), nll=nll.cpu(), samples=self.config.nll_samples)

    @torch.inference_mode()
    def figures(self, model: nn.Module, scores, split: Batch, meta: dict, directory: Path) -> list[Path]:
        """Test digits and their reconstructions, samples from the prior, a traversal of the most
        used latent dimensions and an interpolation between two digits' codes."""
        from mastery.evaluation import vae

        device = next(model.parameters()).device
        test = binarise(split["image"].float().to(device))
        images, nll = test[:FIGURE_IMAGES], scores.per_image["nll"][:FIGURE_IMAGES]
        used = kl_per_dimension(*model.encode(test)).mean(dim=0).argsort(descending=True)[:TRAVERSED]
        return [vae.plot_reconstructions(model, images, nll, directory / "reconstructions.png"),
                vae.plot_samples(model, prior_noise(4 * FIGURE_IMAGES, latent_size(model, images), device),
                                 directory / "samples.png"),
                vae.plot_traversal(model, images[0], used.tolist(), directory / "traversal.png"),
                vae.plot_interpolation(model, images[0], images[1], directory / "interpolation.png")]

    @torch.inference_mode()
    def epoch_figures(self, model: nn.Module, val: Batch, stats: dict, directory: Path) -> list[Path]:
        """Samples decoded from the same prior noise by each epoch's model."""
        from mastery.evaluation.vae import plot_samples

        device = next(model.parameters()).device
        images = val["image"][:1].float().to(device)
        return [plot_samples(model.eval(), prior_noise(2 * FIGURE_IMAGES, latent_size(model, images), device),
                             directory / "samples.png")]


def bound_sums(recon: Tensor, kl: Tensor, beta: float) -> Sums:
    """`loss`, what training minimises (the KL weighed by beta), beside `neg_elbo`, the bound
    (weighed by 1), and its two terms: summed over the batch's images."""
    return {"loss": (recon + beta * kl).sum(), "neg_elbo": (recon + kl).sum(), "recon": recon.sum(), "kl": kl.sum()}


def latent_size(model: nn.Module, images: Tensor) -> int:
    return model.encode(images[:1])[0].shape[1]
