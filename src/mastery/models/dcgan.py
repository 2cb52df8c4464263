"""DCGAN (Radford et al., 2016; textbook ch. 8) and its class-conditional form: two networks
trained against each other by the `gan` task (`mastery.tasks.gan`), one optimizer each.

The generator maps noise (B, latent) to an image: a linear layer to (2w, H/4, W/4), then two
stride-2 transposed convolutions with BatchNorm and ReLU, Tanh out, as DCGAN prescribes. The
discriminator mirrors it: two stride-2 convolutions with LeakyReLU(0.2), BatchNorm on the
second only (not on the input layer, per DCGAN), then one logit. Conditional on a class
(`num_classes` > 0), the generator reads the label's embedding beside the noise, and the
discriminator is a projection discriminator (Miyato & Koyama, 2018): the inner product of
the label's embedding with its features is added to the logit, which conditions it far more
reliably than label channels concatenated to the image.

`forward(noise[, label])` is what an export serves: the generator's images in [0, 1].
`generator` and `discriminator` are the submodules the task's two optimizers move; the
discriminator reads images in the generator's range, [-1, 1] (`discriminate` takes [0, 1]).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mastery.models.registry import register_model


class Generator(nn.Module):
    def __init__(self, in_shape: tuple[int, int, int], latent: int, width: int, num_classes: int):
        super().__init__()
        channels, height, w = in_shape
        if height % 4 or w % 4:
            raise ValueError(f"dcgan draws images whose sides are multiples of 4, not {height}x{w}")
        self.start = (2 * width, height // 4, w // 4)
        self.embed = nn.Embedding(num_classes, latent) if num_classes else None
        inputs = latent * (2 if num_classes else 1)
        self.project = nn.Sequential(nn.Linear(inputs, 2 * width * height * w // 16, bias=False),
                                     nn.BatchNorm1d(2 * width * height * w // 16), nn.ReLU())
        self.draw = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())

    def forward(self, noise: Tensor, label: Tensor | None = None) -> Tensor:  # -> (B, C, H, W) in [-1, 1]
        if self.embed is not None:
            noise = torch.cat([noise, self.embed(label)], dim=1)
        return self.draw(self.project(noise).view(-1, *self.start))


class Discriminator(nn.Module):
    def __init__(self, in_shape: tuple[int, int, int], width: int, num_classes: int):
        super().__init__()
        channels, height, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten())
        size = 2 * width * (height // 4) * (w // 4)
        self.logit = nn.Linear(size, 1)
        self.embed = nn.Embedding(num_classes, size) if num_classes else None

    def forward(self, image: Tensor, label: Tensor | None = None) -> Tensor:  # (B, C, H, W) in [-1, 1] -> (B,)
        features = self.features(image)
        logit = self.logit(features).squeeze(1)
        if self.embed is not None:
            logit = logit + (self.embed(label) * features).sum(dim=1)
        return logit


class GAN(nn.Module):
    def __init__(self, generator: Generator, discriminator: Discriminator):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.apply(dcgan_init)

    def forward(self, noise: Tensor, label: Tensor | None = None) -> Tensor:  # -> (B, C, H, W) in [0, 1]
        return (self.generator(noise, label) + 1) / 2

    def discriminate(self, image: Tensor, label: Tensor | None = None) -> Tensor:
        """The discriminator's logit for images in [0, 1]."""
        return self.discriminator(image * 2 - 1, label)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: weights N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0. The
    projection's label embedding too: at PyTorch's N(0, 1) its inner product with thousands of
    features saturates the discriminator from the first step."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


@register_model(task="gan")
def dcgan(in_shape=(1, 28, 28), latent=64, width=64, num_classes=0):
    """`width`: the generator's last and the discriminator's first channels; 0 classes: unconditional."""
    shape = tuple(in_shape)
    return GAN(Generator(shape, latent, width, num_classes), Discriminator(shape, width, num_classes))
