"""The linear baseline every text model must beat: logistic regression over the n-grams a text
holds, each weighted by its naive-Bayes log-count ratio (NBSVM's logistic variant, Wang &
Manning 2012), fitted by scikit-learn in closed form.

It reads the same token ids and lengths as the recurrent models, so it is scored, gated,
exported and served like any of them. An n-gram is hashed into a table row; the fitted
weights (ratio times coefficient) sit in that table, so a forward pass is a lookup and a
sum, and computes exactly what the fitted estimator does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mastery.models.registry import register_model

PRIME = 1_000_003  # mixes the tokens of an n-gram into one hash


@dataclass(frozen=True)
class NGramConfig:
    vocab_size: int
    num_classes: int = 2
    n: int = 2  # n-grams of 1..n tokens
    buckets: int = 2**18  # table rows: every token has its own, longer n-grams share the rest by hash
    C: float = 0.3  # inverse strength of the L2 penalty
    naive_bayes: bool = True  # weight n-grams by their log-count ratio (two classes only)
    max_iter: int = 1000


def ngram_ids(tokens: Tensor, lengths: Tensor, n: int, buckets: int, vocab_size: int) -> Tensor:
    """The table row of every distinct n-gram of each text, 0 for none: (B, T) -> (B, n*T).

    A token is its own row; a longer n-gram hashes into the rows past the vocabulary.
    Repeats within a text count once (NBSVM's binarised features).
    """
    steps = tokens.shape[1]
    position = torch.arange(steps, device=tokens.device)[None, :]  # (1, T)
    grams, hashed = [torch.where(position < lengths[:, None], tokens, 0)], tokens
    for k in range(2, n + 1):
        hashed = (hashed[:, :-1] * PRIME + tokens[:, k - 1 :]) % (buckets - vocab_size)  # (B, T-k+1)
        inside = position[:, : steps - k + 1] + k <= lengths[:, None]
        grams.append(torch.where(inside, hashed + vocab_size, 0))
    ids = torch.cat(grams, dim=1).sort(dim=1).values  # (B, L): repeats side by side
    repeated = torch.cat([torch.zeros_like(ids[:, :1], dtype=torch.bool), ids[:, 1:] == ids[:, :-1]], dim=1)
    return torch.where(repeated, 0, ids)


class NGramBag(nn.Module):
    """Token ids, lengths -> the summed class scores of the n-grams present: (B, T), (B,) -> (B, K)."""

    def __init__(self, config: NGramConfig):
        super().__init__()
        self.config = config
        self.table = nn.Embedding(config.buckets, config.num_classes, padding_idx=0)  # row 0: no n-gram
        nn.init.zeros_(self.table.weight)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        c = self.config
        return self.table(ngram_ids(tokens, lengths, c.n, c.buckets, c.vocab_size)).sum(dim=1)


class NGramLogistic(nn.Module):
    def __init__(self, config: NGramConfig):
        super().__init__()
        self.config = config
        self.features = NGramBag(config)
        self.head = nn.Linear(config.num_classes, config.num_classes)  # identity and the intercepts, once fitted
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(config.num_classes))
            self.head.bias.zero_()

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return self.head(self.features(tokens, lengths))  # (B, num_classes)

    def fit_closed_form(self, split: dict[str, Tensor]) -> None:
        """Fit on a whole training split (`tokens`, `lengths`, `label`), as scikit-learn does, and
        hold the solution: a table row is an n-gram's ratio times its coefficient."""
        from sklearn.linear_model import LogisticRegression

        c = self.config
        labels = split["label"].cpu().numpy()
        features = self.presence(split["tokens"].cpu(), split["lengths"].cpu())
        ratio = log_count_ratio(features, labels) if c.naive_bayes and c.num_classes == 2 else np.ones(c.buckets)
        estimator = LogisticRegression(C=c.C, max_iter=c.max_iter).fit(features.multiply(ratio).tocsr(), labels)
        coef, intercept = estimator.coef_ * ratio, estimator.intercept_  # (1 or K, buckets), (1 or K,)
        if c.num_classes == 2:  # one score s: logits (0, s) give sigmoid(s) as the fresh probability
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        with torch.no_grad():
            table = torch.as_tensor(coef.T, dtype=torch.float32)
            table[0] = 0  # row 0 stands for no n-gram
            self.features.table.weight.copy_(table)
            self.head.weight.copy_(torch.eye(c.num_classes))
            self.head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))

    def presence(self, tokens: Tensor, lengths: Tensor):
        """A sparse (N, buckets) matrix of 0/1: which n-grams each text holds."""
        from scipy import sparse

        c = self.config
        ids = ngram_ids(tokens, lengths, c.n, c.buckets, c.vocab_size).numpy()
        rows, cols = np.nonzero(ids)
        return sparse.csr_matrix((np.ones(len(rows)), (rows, ids[rows, cols])), shape=(len(ids), c.buckets))


def log_count_ratio(features, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """log(p / |p|) - log(q / |q|) per feature, p and q its smoothed counts in each class: how
    much more often an n-gram occurs in positive texts than in negative ones."""
    p = alpha + np.asarray(features[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(features[labels == 0].sum(axis=0)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


@register_model(modality="text")
def nbsvm(vocab_size: int, num_classes: int = 2, **params) -> NGramLogistic:
    """Unigrams and bigrams, NB-weighted logistic regression: MR's classic linear baseline (79.4%)."""
    return NGramLogistic(NGramConfig(vocab_size, num_classes, **params))
