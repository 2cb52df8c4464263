"""Clustering images without labels (textbook ch. 7): K-means on raw pixels, and deep embedded
clustering, DEC (Xie et al., 2016), with its decoder kept, IDEC (Guo et al., 2017).

Every family assigns a code to K centres softly, by a Student's t kernel (DEC's q, (B, K)):
q_ij is proportional to (1 + |z_i - mu_j|^2 / alpha)^(-(alpha + 1) / 2). Its argmax is the
nearest centre, so a K-means model's assignment is K-means' own. The centres are fitted in
closed form (`fit_closed_form`, epoch 0) on the training split's codes: the raw pixels for
`kmeans_pixels` (`epochs: 0`, a baseline), an autoencoder's codes for `dec` and `idec`, by
K-means on the codes (`centres: kmeans`: epoch 0 is K-means on the codes) or on a UMAP
embedding of them (`centres: umap`, N2D, McConville et al., 2020: a nearest-neighbour graph
sees clusters that are not round in the code space). Each cluster is then held by its mean
code, or by a few prototypes (the K-means centres of its codes, `prototypes`) so that a cluster
UMAP found curved stays curved, and the model stays an encoder and K x P points: it assigns an
unseen image without UMAP. Gradient epochs then move encoder and centres together (the
clustering task's loss). The DEC families are autoencoders whose
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


def student_t(codes: Tensor, centres: Tensor, alpha: float) -> Tensor:
    """DEC's kernel: each code's Student's t similarity to each centre, unnormalised: (B, K)."""
    distances = (codes[:, None] - centres).square().sum(dim=-1)  # (B, K) squared
    return (1 + distances / alpha).pow(-(alpha + 1) / 2)


class Centres(nn.Module):
    """K clusters in a code space, each held by one or more prototypes (points), fitted in
    closed form and then, maybe, trained. A cluster's similarity is the sum of its prototypes'
    Student's t kernels, so a cluster need not be round: with several prototypes (`prototypes`),
    a curved or stretched cluster that UMAP found keeps its shape in the code space."""

    def __init__(self, clusters: int, dims: int, alpha: float = 1.0, restarts: int = 20, method: CentreFit = "kmeans",
                 prototypes: int = 1):
        super().__init__()
        if method not in ("kmeans", "umap"):
            raise ValueError(f"unknown centres '{method}'; choose from ['kmeans', 'umap']")
        self.centres = nn.Parameter(torch.zeros(clusters * prototypes, dims))  # cluster k's are rows kP..(k+1)P-1
        self.clusters, self.prototypes = clusters, prototypes
        self.alpha = alpha
        self.restarts = restarts  # K-means runs from different seeds; the lowest inertia is kept
        self.method = method

    def forward(self, codes: Tensor) -> Tensor:  # (B, D) -> (B, K)
        kernel = student_t(codes, self.centres, self.alpha).unflatten(1, (self.clusters, self.prototypes))
        similarity = kernel.sum(dim=2)
        return similarity / similarity.sum(dim=1, keepdim=True)

    @torch.no_grad()
    def fit(self, codes: Tensor) -> None:
        """Cluster the codes by K-means (scikit-learn, k-means++ starts) on the codes, or on their
        UMAP embedding (`umap`: N2D); each cluster's prototypes are then the K-means centres of its
        own codes (one prototype: their mean). Seeded from torch's generator, so a run's seed decides it."""
        from sklearn.cluster import KMeans

        seed = int(torch.randint(2**31 - 1, ()))
        points = codes.double().cpu().numpy()
        if self.method == "umap":
            points = umap_embedding(points, self.clusters, seed)
        members = KMeans(self.clusters, n_init=self.restarts, random_state=seed).fit(points).labels_
        prototypes = [self._prototypes(codes[torch.from_numpy(members == k).to(codes.device)], seed)
                      for k in range(self.clusters)]
        self.centres.copy_(torch.cat(prototypes))

    def _prototypes(self, codes: Tensor, seed: int) -> Tensor:
        """`prototypes` points standing for one cluster's codes: (P, D)."""
        if self.prototypes == 1 or len(codes) < self.prototypes:
            return codes.mean(dim=0).expand(self.prototypes, -1)
        from sklearn.cluster import KMeans

        fit = KMeans(self.prototypes, n_init=self.restarts, random_state=seed).fit(codes.double().cpu().numpy())
        return torch.from_numpy(fit.cluster_centers_).to(codes)


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


def _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, prototypes,
                     decoder) -> DeepClustering:
    if encoder not in HALVES:
        raise ValueError(f"unknown encoder '{encoder}'; choose from {sorted(HALVES)}")
    config = AutoencoderConfig(tuple(in_shape), code, tuple(widths))
    features, head = HALVES[encoder](config)
    return DeepClustering(config, features, head if decoder else None,
                          Centres(clusters, code, alpha, restarts, centres, prototypes))


@register_model(task="clustering")
def kmeans_pixels(in_shape=(1, 28, 28), clusters=10, restarts=10):
    return PixelKMeans(tuple(in_shape), clusters, restarts)


@register_model(task="clustering")
def dec(in_shape=(1, 28, 28), clusters=10, code=10, encoder="mlp", widths=(500, 500, 2000), alpha=1.0,
        centres="kmeans", restarts=20, prototypes=1):
    """`encoder`, `code` and `widths` as the autoencoder it starts from: `mlp` (`mlp_autoencoder`'s
    hidden units) or `conv` (`conv_autoencoder`'s channels); `prototypes` points per cluster."""
    return _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, prototypes,
                            decoder=False)


@register_model(task="clustering")
def idec(in_shape=(1, 28, 28), clusters=10, code=10, encoder="mlp", widths=(500, 500, 2000), alpha=1.0,
         centres="kmeans", restarts=20, prototypes=1):
    return _deep_clustering(in_shape, clusters, code, encoder, widths, alpha, centres, restarts, prototypes,
                            decoder=True)
