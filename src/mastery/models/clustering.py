"""Clustering images without labels (textbook ch. 7): K-means on raw pixels, and deep embedded
clustering, DEC (Xie et al., 2016), with its decoder kept, IDEC (Guo et al., 2017).

Every family assigns a code to K centres softly, by a Student's t kernel (DEC's q, (B, K)):
q_ij is proportional to (1 + |z_i - mu_j|^2 / alpha)^(-(alpha + 1) / 2). Its argmax is the
nearest centre, so a K-means model's assignment is K-means' own. The centres are fitted in
closed form (`fit_closed_form`, epoch 0) on the training split's codes: the raw pixels for
`kmeans_pixels` (`epochs: 0`, a baseline), an autoencoder's codes for `dec` and `idec`, by
K-means on the codes (`centres: kmeans`: epoch 0 is K-means on the codes) or on a UMAP
embedding of them (`centres: umap`, N2D, McConville et al., 2020: a nearest-neighbour graph
sees clusters that are not round in the code space; each centre is then its cluster's mean
code, so the model stays an encoder and K points). Gradient epochs then move encoder and
centres together (the clustering task's loss). The DEC families are autoencoders whose
`features` and `head` are a reconstruction family's (`encoder: mlp` is `mlp_autoencoder`'s,
`conv` is `conv_autoencoder`'s), so an autoencoder pretrained by the reconstruction task
starts them (a candidate's `start_from`); DEC drops the decoder, IDEC keeps it and each
training forward leaves its reconstruction in `reconstruction`, which the task weighs into
the loss to keep the codes faithful to the image.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from mastery.models.autoencoder import Autoencoder, AutoencoderConfig, conv_halves, mlp_halves
from mastery.models.registry import register_model

ENCODE_AT_ONCE = 4096  # images encoded in one chunk for the K-means fit
UMAP_NEIGHBOURS = 20
CentreFit = Literal["kmeans", "umap"]


def soft_assignment(codes: Tensor, centres: Tensor, alpha: float) -> Tensor:
    """DEC's q: each code's Student's t similarity to each centre, normalised over centres: (B, K)."""
    distances = (codes[:, None] - centres).square().sum(dim=-1)  # (B, K) squared
    kernel = (1 + distances / alpha).pow(-(alpha + 1) / 2)
    return kernel / kernel.sum(dim=1, keepdim=True)


class Centres(nn.Module):
    """K cluster centres in a code space, fitted in closed form and then, maybe, trained."""

    def __init__(self, clusters: int, dims: int, alpha: float = 1.0, restarts: int = 20, method: CentreFit = "kmeans"):
        super().__init__()
        if method not in ("kmeans", "umap"):
            raise ValueError(f"unknown centres '{method}'; choose from ['kmeans', 'umap']")
        self.centres = nn.Parameter(torch.zeros(clusters, dims))
        self.alpha = alpha
        self.restarts = restarts  # K-means runs from different seeds; the lowest inertia is kept
        self.method = method

    def forward(self, codes: Tensor) -> Tensor:  # (B, D) -> (B, K)
        return soft_assignment(codes, self.centres, self.alpha)

    @torch.no_grad()
    def fit(self, codes: Tensor) -> None:
        """Each centre is the mean code of a cluster that K-means (scikit-learn, k-means++ starts)
        finds in the codes, or in their UMAP embedding (`umap`: N2D), seeded from torch's
        generator, so a run's seed decides it."""
        from sklearn.cluster import KMeans

        seed = int(torch.randint(2**31 - 1, ()))
        points = codes.double().cpu().numpy()
        if self.method == "umap":
            points = umap_embedding(points, len(self.centres), seed)
        kmeans = KMeans(len(self.centres), n_init=self.restarts, random_state=seed).fit(points)
        if self.method == "kmeans":
            self.centres.copy_(torch.from_numpy(kmeans.cluster_centers_))
            return
        members = torch.from_numpy(kmeans.labels_).to(codes.device)
        self.centres.copy_(torch.stack([codes[members == k].mean(dim=0) for k in range(len(self.centres))]))


def umap_embedding(points: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """A `dims`-dimensional UMAP embedding that keeps local neighbourhoods and packs them tight
    (N2D's settings: 20 neighbours, no minimum distance): clusters K-means can separate."""
    import umap

    return umap.UMAP(n_components=dims, n_neighbors=UMAP_NEIGHBOURS, min_dist=0.0, random_state=seed,
                     n_jobs=1).fit_transform(points)


@torch.no_grad()
def encode_all(model: nn.Module, images: Tensor) -> Tensor:
    """The codes of a whole split, in chunks: (N, D)."""
    return torch.cat([model.encode(chunk) for chunk in images.split(ENCODE_AT_ONCE)])


class PixelKMeans(nn.Module):
    """K-means on the flattened pixels: nothing to train, the floor a learnt code must beat."""

    def __init__(self, in_shape: tuple[int, ...], clusters: int, restarts: int):
        super().__init__()
        self.assign = Centres(clusters, math.prod(in_shape), restarts=restarts)

    def encode(self, image: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C*H*W)
        return image.flatten(1)

    def forward(self, image: Tensor) -> Tensor:  # (B, C, H, W) -> (B, K)
        return self.assign(self.encode(image))

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        self.assign.fit(self.encode(split["image"]))


class DeepClustering(Autoencoder):
    """An autoencoder whose codes are softly assigned to centres (DEC, or IDEC with `head`)."""

    def __init__(self, config: AutoencoderConfig, features: nn.Module, head: nn.Module | None, assign: Centres):
        super().__init__(config, features, head if head is not None else nn.Identity())
        self.reconstructs = head is not None
        self.assign = assign
        self.reconstruction: Tensor | None = None  # IDEC: the last training forward's reconstruction

    def forward(self, image: Tensor) -> Tensor:  # (B, C, H, W) -> (B, K)
        code = self.encode(image)  # (B, code)
        if self.training and self.reconstructs:
            self.reconstruction = self.decode(code)  # (B, C, H, W) in [0, 1]
        return self.assign(code)

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        self.assign.fit(encode_all(self, split["image"]))


HALVES = {"mlp": mlp_halves, "conv": conv_halves}  # the reconstruction families' layouts


def _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, decoder) -> DeepClustering:
    if encoder not in HALVES:
        raise ValueError(f"unknown encoder '{encoder}'; choose from {sorted(HALVES)}")
    config = AutoencoderConfig(tuple(in_shape), code, tuple(widths))
    features, head = HALVES[encoder](config)
    return DeepClustering(config, features, head if decoder else None,
                          Centres(clusters, code, alpha, restarts, centres))


@register_model(task="clustering")
def kmeans_pixels(in_shape=(1, 28, 28), clusters=10, restarts=10):
    return PixelKMeans(tuple(in_shape), clusters, restarts)


@register_model(task="clustering")
def dec(in_shape=(1, 28, 28), clusters=10, code=10, encoder="mlp", widths=(500, 500, 2000), alpha=1.0,
        centres="kmeans", restarts=20):
    """`encoder`, `code` and `widths` as the autoencoder it starts from: `mlp` (`mlp_autoencoder`'s
    hidden units) or `conv` (`conv_autoencoder`'s channels)."""
    return _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, decoder=False)


@register_model(task="clustering")
def idec(in_shape=(1, 28, 28), clusters=10, code=10, encoder="mlp", widths=(500, 500, 2000), alpha=1.0,
         centres="kmeans", restarts=20):
    return _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, decoder=True)
