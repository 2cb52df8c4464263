"""Two text models that err differently, scored as one: the NB-weighted n-gram logistic
regression (`mastery.models.ngram`, fitted in closed form) and a bidirectional GRU (trained by
gradient), their class probabilities averaged with a fixed weight.

Each member learns on its own, as ensemble members do: training sees the GRU's logits alone.
Trained through the blend, the GRU would learn little, since the fitted member already
explains the training texts it was fitted on. Scoring and export see the blend, so early
stopping keeps the epoch at which the GRU best complements the n-grams.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mastery.models.ngram import NGramConfig, NGramLogistic
from mastery.models.registry import register_model
from mastery.models.rnn import RNNClassifier, RNNConfig


class BlendFeatures(nn.Module):
    """What both members see: the fitted member's logits beside the trained member's text vector."""

    def __init__(self, fitted: nn.Module, trained: RNNClassifier):
        super().__init__()
        self.fitted, self.trained = fitted, trained.features

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return torch.cat([self.fitted(tokens, lengths), self.trained(tokens, lengths)], dim=1)  # (B, K + D)


class BlendHead(nn.Module):
    """(B, K + D) -> (B, K): the trained member's logits while training; log of the weighted mean
    of both members' probabilities otherwise, so a softmax of the output is the blend."""

    def __init__(self, head: nn.Module, num_classes: int, fitted_weight: float):
        super().__init__()
        self.head, self.num_classes, self.fitted_weight = head, num_classes, fitted_weight

    def forward(self, features: Tensor) -> Tensor:
        fitted, trained = features[:, : self.num_classes], self.head(features[:, self.num_classes :])
        if self.training:
            return trained
        members = torch.stack([fitted.log_softmax(dim=1) + math.log(self.fitted_weight),
                               trained.log_softmax(dim=1) + math.log(1 - self.fitted_weight)])  # (2, B, K)
        return members.logsumexp(dim=0)


class Blend(nn.Module):
    def __init__(self, fitted: NGramLogistic, trained: RNNClassifier, fitted_weight: float):
        super().__init__()
        if not 0 < fitted_weight < 1:
            raise ValueError(f"fitted_weight must lie strictly between 0 and 1, got {fitted_weight}")
        fitted.requires_grad_(False)  # fitted in closed form, never by a gradient
        num_classes = trained.config.num_classes
        self.features = BlendFeatures(fitted, trained)
        self.head = BlendHead(trained.head, num_classes, fitted_weight)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return self.head(self.features(tokens, lengths))  # (B, num_classes)


@register_model(modality="text")
def nbsvm_bigru(vocab_size: int, num_classes: int = 2, fitted_weight: float = 0.5, nbsvm: dict | None = None,
                **params) -> Blend:
    """`nbsvm` (its params under `nbsvm`) blended with `bigru` (the other params) at `fitted_weight`."""
    params.setdefault("pool", "max")
    fitted = NGramLogistic(NGramConfig(vocab_size, num_classes, **(nbsvm or {})))
    trained = RNNClassifier(RNNConfig(vocab_size, num_classes, cell="gru", bidirectional=True, **params))
    return Blend(fitted, trained, fitted_weight)
