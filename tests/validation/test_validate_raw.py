"""validate_raw on real digits data: clean data passes, each corruption fails by name."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from mastery.config import Params
from mastery.data.raw import RawData
from mastery.data.registry import get_dataset
from mastery.validation import DataValidationError, validate_raw

INFO = get_dataset("digits")


@pytest.fixture(scope="module")
def digits() -> RawData:
    return INFO.load(Params(pipelines=("quickstart",)))


def test_clean_digits_pass_twice_into_one_folder(digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray gx/ folder would land here
    out = tmp_path / "validation"
    for _ in range(2):
        summary = validate_raw(digits, INFO, out)
    assert summary == {"success": True, "dataset": "digits", "rows": 1797, "failed": []}
    assert json.loads((out / "result.json").read_text())["success"] is True
    assert (out / "docs" / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["validation"]


def changed(raw, source_split=None, **arrays):
    """`raw` with some arrays (and its source_split) replaced."""
    return replace(raw, arrays=raw.arrays | arrays, source_split=raw.source_split if source_split is None else source_split)


def nan_pixels(raw):
    images = raw["image"].astype(np.float64)
    images[[0, 5, 9], 0, 3, 3] = np.nan
    return changed(raw, image=images)


def label_out_of_range(raw):
    labels = raw["label"].copy()
    labels[3] = 10
    return changed(raw, label=labels)


def shared_between_splits(raw):
    split = np.where(np.arange(raw.rows) < 1500, "train", "test")
    images = raw["image"].copy()
    images[0] = images[1600]
    return changed(raw, split, image=images)


def missing_class(raw):
    keep = raw["label"] != 3
    return replace(take(raw, keep), declared_rows=int(keep.sum()))


def wrong_shape(raw):
    return changed(raw, image=np.ascontiguousarray(raw["image"][:, :, :7]))


def truncated(raw):
    return take(raw, slice(None, -100))  # declared_rows still says 1797


def take(raw, rows):
    return changed(raw, raw.source_split[rows], **{name: array[rows] for name, array in raw.arrays.items()})


def wrong_dtype(raw):
    return changed(raw, image=raw["image"].astype(np.int64))


CORRUPTIONS = {
    nan_pixels: [
        "samples column 'nan_count': expect_column_values_to_be_between(max_value=0)",
        "3 unexpected row(s), values 1, e.g. index 0, 5, 9",
    ],
    label_out_of_range: [
        "samples column 'label': expect_column_values_to_be_in_set(",
        "values 10, e.g. index 3",
        "classes column 'fraction'",
    ],
    shared_between_splits: [
        "samples column 'splits_with_hash': expect_column_values_to_be_between(max_value=1)",
        "e.g. index 0, 1600",
    ],
    missing_class: [
        "samples column 'label': expect_column_distinct_values_to_contain_set(",
        "missing 3",
    ],
    wrong_shape: [
        "samples column 'shape': expect_column_values_to_be_in_set(value_set=['1x8x8'])",
        "values '1x7x8'",
    ],
    truncated: ["samples table: expect_table_row_count_to_equal(value=1797) — observed 1697"],
    wrong_dtype: [
        "samples column 'dtype': expect_column_values_to_be_in_set(value_set=['uint8'])",
        "values 'int64'",
    ],
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda corrupt: corrupt.__name__)
def test_corruption_fails_naming_the_problem(digits, tmp_path, corrupt):
    with pytest.raises(DataValidationError) as error:
        validate_raw(corrupt(digits), INFO, tmp_path)
    message = str(error.value)
    assert message.startswith("digits: ")
    for fragment in CORRUPTIONS[corrupt]:
        assert fragment in message
    report = json.loads((tmp_path / "result.json").read_text())
    assert report["success"] is False and report["failed"]
    assert (tmp_path / "docs" / "index.html").is_file()


def test_unprofilable_arrays_fail_before_gx(digits, tmp_path):
    with pytest.raises(DataValidationError, match="unequal length .1,797 image, 1,796 label, 1,797 source_split"):
        validate_raw(changed(digits, label=digits["label"][:-1]), INFO, tmp_path)
    with pytest.raises(DataValidationError, match=r"images have shape \(115008,\)"):
        validate_raw(changed(digits, image=digits["image"].reshape(-1)), INFO, tmp_path)
    with pytest.raises(DataValidationError, match=r"images have shape \(1797, 1, 0, 8\)"):
        validate_raw(changed(digits, image=digits["image"][:, :, :0]), INFO, tmp_path)


def test_import_leaves_great_expectations_unloaded():
    code = "import sys, mastery.validation; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
