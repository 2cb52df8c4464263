"""validate_raw on the real MR corpus: clean data passes, each corruption of the texts fails by name."""

import bz2
import csv
import io
from dataclasses import replace

import numpy as np
import pytest

from mastery.config import Params
from mastery.config.schema import SourcesConfig
from mastery.data.registry import get_dataset
from mastery.data.sources.text import rotten_tomatoes_path
from mastery.validation import DataValidationError, validate_raw

INFO = get_dataset("mr")
PARAMS = Params(pipelines=("text",))


@pytest.fixture(scope="module")
def mr():
    return INFO.load(PARAMS)


def changed(raw, **arrays):
    return replace(raw, arrays=raw.arrays | arrays)


def with_texts(raw, rows: dict[int, str]):
    texts = raw["text"].astype(object)  # an object copy: a longer text than the array's width fits
    for row, text in rows.items():
        texts[row] = text
    return changed(raw, text=texts.astype(str))


def first(raw, split: str, count: int = 1) -> list[int]:
    return np.flatnonzero(raw.source_split == split)[:count].tolist()


def empty_sentences(raw):
    a, b, c = first(raw, "train", 3)
    return with_texts(raw, {a: "", b: "   ", c: "\t\n"})


def sentence_copied_from_test_into_train(raw):
    """A test sentence in train, re-cased and re-spaced: the same sentence to a reader."""
    test, train = first(raw, "test")[0], first(raw, "train")[0]
    return with_texts(raw, {train: "  " + raw["text"][test].upper().replace(" ", "  ")})


def undecodable_bytes(raw):
    row = first(raw, "train")[0]
    return with_texts(raw, {row: b"caf\xe9 au lait".decode("utf-8", errors="replace")})


def too_long(raw):
    row = first(raw, "train")[0]
    return with_texts(raw, {row: " ".join(raw["text"][:40])})  # forty snippets run together


def label_out_of_set(raw):
    labels = raw["label"].copy()
    labels[first(raw, "train")[0]] = -1  # what the source gives a category it does not know
    return changed(raw, label=labels)


CORRUPTIONS = {
    empty_sentences: ["samples column 'words': expect_column_values_to_be_between(min_value=1, max_value=200)",
                      "3 unexpected row(s), values 0"],
    sentence_copied_from_test_into_train: ["samples column 'splits_with_hash': expect_column_values_to_be_between(max_value=1)",
                                      "2 unexpected row(s), values 2"],
    undecodable_bytes: ["samples column 'undecodable': expect_column_values_to_be_between(max_value=0)",
                        "1 unexpected row(s), values 1"],
    too_long: ["samples column 'chars': expect_column_values_to_be_between(max_value=1000)",
               "samples column 'words'"],
    label_out_of_set: ["samples column 'label': expect_column_values_to_be_in_set(value_set=[0, 1])", "values -1"],
}


def test_clean_corpus_passes_with_its_own_fixed_test_split(mr, tmp_path):
    assert validate_raw(mr, INFO, tmp_path) == {"success": True, "dataset": "mr", "rows": 12808, "failed": []}
    assert 0.19 < (mr.source_split == "test").mean() < 0.21
    assert np.array_equal(INFO.load(PARAMS).source_split, mr.source_split)  # the same split on every load


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda corrupt: corrupt.__name__)
def test_corruption_fails_naming_the_problem(mr, tmp_path, corrupt):
    with pytest.raises(DataValidationError) as error:
        validate_raw(corrupt(mr), INFO, tmp_path)
    message = str(error.value)
    assert message.startswith("mr: ")
    for fragment in CORRUPTIONS[corrupt]:
        assert fragment in message, message


def test_bytes_that_are_not_utf8_reach_validation_as_undecodable(tmp_path):
    """The reader keeps a bad byte as U+FFFD, so validation can name the row, not just the file."""
    rows = list(csv.DictReader(io.StringIO(bz2.decompress(rotten_tomatoes_path(PARAMS).read_bytes()).decode())))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    blob = buffer.getvalue().encode().replace(b"A three-hour cinema", b"A three-hour cin\xe9ma", 1)
    corpus = tmp_path / "corpus.csv.bz2"
    corpus.write_bytes(bz2.compress(blob))
    raw = INFO.load(replace(PARAMS, sources=SourcesConfig(rotten_tomatoes=str(corpus))))
    with pytest.raises(DataValidationError, match="column 'undecodable'.*1 unexpected row"):
        validate_raw(raw, INFO, tmp_path / "validation")
