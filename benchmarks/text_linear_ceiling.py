"""How far linear models go on MR: word and character n-gram variants side by side, on the text
pipeline's own split (the source's test fifth; a 10 % validation slice of the rest picks C).

The in-harness floor is NB-SVM over BPE pieces (0.790, benchmarks/RESULTS.md); this asks
whether another linear reader would clear the 0.80 goal, with scikit-learn alone.

    python benchmarks/text_linear_ceiling.py
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from mastery.config import load_params
from mastery.data.sources.text import load_movie_reviews
from mastery.models.ngram import log_count_ratio

WORDS = r"(?u)\b\w+\b|[^\w\s]"  # words and punctuation marks, as the BPE pre-tokenizer splits them
VARIANTS = {  # name: (weighting, word n-grams, character n-grams or None)
    "tf-idf words 1-2": ("tfidf", (1, 2), None),
    "tf-idf words 1-3": ("tfidf", (1, 3), None),
    "tf-idf words 1-2 + chars 2-5": ("tfidf", (1, 2), (2, 5)),
    "tf-idf words 1-2 + chars 1-5": ("tfidf", (1, 2), (1, 5)),
    "tf-idf words 1-2 + chars 2-6": ("tfidf", (1, 2), (2, 6)),
    "tf-idf words 1-3 + chars 2-5": ("tfidf", (1, 3), (2, 5)),
    "NB-weighted words 1-2": ("nb", (1, 2), None),
    "NB-weighted words 1-2 + chars 2-5": ("nb", (1, 2), (2, 5)),
}
CS = (0.03, 0.1, 0.3, 1, 2, 4, 8, 16)


def vectorizers(weighting: str, words: tuple, chars: tuple | None) -> list:
    if weighting == "tfidf":
        made = [TfidfVectorizer(ngram_range=words, sublinear_tf=True, token_pattern=WORDS)]
        return made + ([TfidfVectorizer(analyzer="char_wb", ngram_range=chars, sublinear_tf=True, min_df=2)] if chars else [])
    made = [CountVectorizer(ngram_range=words, binary=True, token_pattern=WORDS)]
    return made + ([CountVectorizer(analyzer="char_wb", ngram_range=chars, binary=True, min_df=2)] if chars else [])


def features(variant: tuple, fit_texts, fit_labels, *others) -> list:
    """The variant's features of the fitting texts and of `others`; NB weighting scales each
    feature by its log-count ratio between the classes (Wang & Manning, 2012)."""
    made = vectorizers(*variant)
    for vectorizer in made:
        vectorizer.fit(fit_texts)
    matrices = [sparse.hstack([v.transform(texts) for v in made]).tocsr() for texts in (fit_texts, *others)]
    if variant[0] == "nb":  # the weighting the in-harness NB-SVM uses
        ratio = sparse.diags(log_count_ratio(matrices[0], fit_labels))
        matrices = [m @ ratio for m in matrices]
    return matrices


def main() -> None:
    raw = load_movie_reviews(load_params())
    texts, labels, split = raw.arrays["text"], raw.arrays["label"], raw.source_split
    pool = np.flatnonzero(split == "train")
    np.random.default_rng(0).shuffle(pool)
    val, train = pool[: len(pool) // 10], pool[len(pool) // 10 :]
    test = split == "test"
    print(f"MR: {len(train)} train, {len(val)} val, {test.sum()} test")
    print("| variant | C (by val) | val accuracy | test accuracy | seconds |\n|---|---|---|---|---|")
    for name, variant in VARIANTS.items():
        start = time.perf_counter()
        fit, on_val, on_test = features(variant, texts[train], labels[train], texts[val], texts[test])
        models = {c: LogisticRegression(C=c, max_iter=3000).fit(fit, labels[train]) for c in CS}
        scores = {c: (m.predict(on_val) == labels[val]).mean() for c, m in models.items()}
        best = max(scores, key=scores.get)
        accuracy = (models[best].predict(on_test) == labels[test]).mean()
        print(f"| {name} | {best:g} | {scores[best]:.4f} | {accuracy:.4f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
