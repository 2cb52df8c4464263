"""Images: (N, C, H, W) integer pixels, a label each (textbook ch. 3-5, 9)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from mastery.data.content import content_hashes
from mastery.data.raw import Modality as ModalityName
from mastery.data.raw import RawData
from mastery.data.registry import DatasetInfo
from mastery.modalities import register_modality


@dataclass(frozen=True)
class ImageDataset(DatasetInfo):
    modality: ClassVar[ModalityName] = "image"
    shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of one sample
    pixel_max: int = 255  # raw pixels are integers in [0, pixel_max]
    hflip_safe: bool = False  # does a mirror image keep its label?


def shape_name(shape: tuple[int, ...]) -> str:
    """A sample shape as one comparable string, e.g. "1x28x28"."""
    return "x".join(str(d) for d in shape)


class Images:
    name = "image"
    content = "image"
    drift = ("min", "max", "mean")  # profile columns monitoring compares (the server refuses NaN and inf)

    def prepare(self, raw: RawData, indices: dict[str, np.ndarray], info: ImageDataset, spec, out: Path) -> dict:
        """Pixels as they are; the training split's per-channel mean/std in [0, 1], carried by
        the model (`Standardized`), so exports take pixels scaled to [0, 1]."""
        for split, idx in indices.items():
            for name, array in raw.arrays.items():
                np.save(out / f"{split}_{name}.npy", array[idx], allow_pickle=False)
        train = raw["image"][indices["train"]].astype(np.float64) / info.pixel_max
        return {"mean": train.mean(axis=(0, 2, 3)).tolist(), "std": train.std(axis=(0, 2, 3)).tolist(),
                "pixel_max": info.pixel_max, "dims": {"in_shape": list(info.shape)}}

    def tensors(self, arrays: dict[str, np.ndarray], stats: dict) -> dict:
        import torch

        return {"image": torch.from_numpy(arrays["image"]).float().div_(stats["pixel_max"]),
                "label": torch.from_numpy(arrays["label"]).long()}

    def profile(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Per-sample columns of a batch of images: shape, dtype, pixel statistics, content hash.
        Columns, not a table: the server profiles every request, and a DataFrame costs more
        than the statistics."""
        images = np.asarray(images)
        flat = images.reshape(len(images), -1)
        nan = np.isnan(flat)
        with np.errstate(invalid="ignore"):  # an all-NaN sample has no mean: NaN, and nan_count flags it
            mean = np.where(nan, 0, flat).sum(axis=1, dtype=np.float64) / (flat.shape[1] - nan.sum(axis=1))
        return {
            "shape": np.full(len(flat), shape_name(images.shape[1:])),
            "dtype": np.full(len(flat), str(images.dtype)),
            "min": np.fmin.reduce(flat, axis=1),  # fmin/fmax skip NaN
            "max": np.fmax.reduce(flat, axis=1),
            "mean": mean,
            "nan_count": nan.sum(axis=1),
            "inf_count": np.isinf(flat).sum(axis=1),
            "content_hash": content_hashes(images),
        }

    def expectations(self, info: ImageDataset) -> list:
        """Every image of the declared shape, integer pixels within range, no NaN or inf."""
        import great_expectations.expectations as gxe

        return [
            gxe.ExpectColumnValuesToBeInSet(column="shape", value_set=[shape_name(info.shape)]),
            gxe.ExpectColumnValuesToBeInSet(column="dtype", value_set=["uint8"]),
            gxe.ExpectColumnValuesToBeBetween(column="min", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="max", max_value=info.pixel_max),
            gxe.ExpectColumnValuesToBeBetween(column="nan_count", max_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="inf_count", max_value=0),
        ]

    def raw_input(self, contract) -> None:
        """Served as the model's inputs themselves."""

    def input_specs(self, stats: dict) -> tuple:
        """One input: pixels / pixel_max, a batch of (C, H, W) in [0, 1]."""
        from mastery.export.contract import TensorSpec

        return (TensorSpec("image", "float32", ("batch", *stats["dims"]["in_shape"]), min=0.0, max=1.0),)


IMAGES = register_modality(Images())
