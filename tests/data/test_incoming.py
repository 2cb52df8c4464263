"""New labelled batches (incoming/<pipeline>/): appended by ingest, checked by validation."""

import numpy as np
import pytest

from mastery.data.incoming import admit, with_incoming
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import get_dataset
from mastery.validation import validate_raw
from mastery.validation.raw import DataValidationError


def source(rows: int = 6) -> RawData:
    images = np.arange(rows * 4, dtype=np.uint8).reshape(rows, 1, 2, 2)
    return RawData({"image": images, "label": np.arange(rows) % 3}, "image", np.full(rows, "train"), "test source", rows)


def batch(path, rows: int = 2, **arrays):
    data = {"image": np.full((rows, 1, 2, 2), 7, np.uint8), "label": np.zeros(rows, np.int64)} | arrays
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return path


def test_batches_are_appended_in_name_order_and_listed_in_the_header(tmp_path):
    batch(tmp_path / "b.npz", rows=3, source_split=np.array(["test", "train", "test"]))
    batch(tmp_path / "a.npz", rows=2, image=np.full((2, 1, 2, 2), 9, np.uint8))
    raw = with_incoming(source(), tmp_path)
    assert raw.rows == raw.declared_rows == 11
    assert raw["image"][6:, 0, 0, 0].tolist() == [9, 9, 7, 7, 7]  # a.npz, then b.npz
    assert raw.source_split[6:].tolist() == ["train", "train", "test", "train", "test"]
    assert [b["file"] for b in raw.extra["incoming"]] == ["a.npz", "b.npz"] and raw.extra["incoming_rows"] == 5
    raw.save(tmp_path / "raw")
    assert RawData.load(tmp_path / "raw").extra["incoming_rows"] == 5
    assert with_incoming(source(), tmp_path / "none").rows == 6  # no folder: the source as it is


@pytest.mark.parametrize("arrays, message", [
    ({"label": None}, "missing label"),
    ({"image": np.zeros((2, 1, 3, 3), np.uint8)}, r"'image' rows have shape \(1, 3, 3\), the source's \(1, 2, 2\)"),
    ({"image": np.full((2, 1, 2, 2), 300, np.int64)}, "'image' holds int64 values that uint8 cannot hold exactly"),
    ({"label": np.zeros(3, np.int64)}, "arrays of unequal length"),
])
def test_a_batch_that_does_not_fit_the_source_is_refused_by_name(tmp_path, arrays, message):
    path = batch(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataSourceError, match=f"bad.npz: .*{message}"):
        with_incoming(source(), tmp_path)
    assert path.exists()


def test_admit_copies_batches_and_refuses_a_name_taken_by_other_bytes(tmp_path):
    first = batch(tmp_path / "new.npz")
    assert admit([first], tmp_path / "incoming") == [tmp_path / "incoming" / "new.npz"]
    assert admit([first], tmp_path / "incoming")  # the same bytes again: fine
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(DataSourceError, match="already holds another batch"):
        admit([batch(other / "new.npz", rows=3)], tmp_path / "incoming")
    with pytest.raises(DataSourceError, match="an .npz file"):
        admit([tmp_path / "x.csv"], tmp_path / "incoming")


def test_validation_checks_new_rows_with_the_rest(tmp_path):
    """A batch may add rows beyond the dataset's bounds; a wrong label in it still stops the run."""
    info = get_dataset("digits")
    raw = info.load(None)
    labels = raw["label"][:200].copy()
    labels[5] = 10
    np.savez(tmp_path / "new.npz", image=np.minimum(raw["image"][:200] + 1, 16).astype(np.uint8), label=labels)
    with pytest.raises(DataValidationError) as failed:
        validate_raw(with_incoming(raw, tmp_path), info, tmp_path / "report")
    message = str(failed.value)
    assert "column 'label'" in message and "index 1802" in message  # row 1,797 + 5
    assert "row_count" not in message  # 1,997 rows: within the source's bounds plus the batch's 200
