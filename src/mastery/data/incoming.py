"""New labelled data for a pipeline: batches dropped into `incoming/<pipeline>/` after the
packaged source was fixed, e.g. the traffic that made monitoring report drift, once labelled.

A batch is one `.npz` file holding the dataset's raw arrays by name (an image dataset's
`image` (N, C, H, W) integer pixels and `label`), optionally `source_split` ("train" or
"test" per row; "train" where absent). Ingest appends every batch, in file-name order, to
the source's rows, so validation checks them with the rest and prepare splits them like the
rest. The folder is an input of ingest in both doors (DVC hashes it; the catalog lists it),
so a new batch re-runs ingest and whatever its output changes.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from mastery.data.raw import DataSourceError, RawData

SUFFIX = ".npz"


def batch_files(directory: Path) -> list[Path]:
    return sorted(Path(directory).glob(f"*{SUFFIX}")) if Path(directory).is_dir() else []


def read_batch(path: Path) -> dict[str, np.ndarray]:
    """One batch's arrays, never unpickled (`allow_pickle=False`)."""
    try:
        with np.load(path, allow_pickle=False) as batch:
            return {name: batch[name] for name in batch.files}
    except (ValueError, OSError, EOFError) as error:
        raise DataSourceError(f"{path}: unreadable batch ({error})") from error


def with_incoming(raw: RawData, directory: Path) -> RawData:
    """`raw` with every batch in `directory` appended; the header lists each batch and its sha256."""
    files = batch_files(directory)
    if not files:
        return raw
    arrays = {name: [array] for name, array in raw.arrays.items()}
    splits, listed = [raw.source_split], []
    for path in files:
        batch = read_batch(path)
        rows = _check(batch, raw, path)
        for name, parts in arrays.items():
            parts.append(_same_values(batch[name], raw[name].dtype, f"{path}: '{name}'"))
        splits.append(batch.get("source_split", np.full(rows, "train")).astype("U5"))
        listed.append({"file": path.name, "rows": rows, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    added = sum(b["rows"] for b in listed)
    return RawData(
        arrays={name: np.concatenate(parts) for name, parts in arrays.items()},
        modality=raw.modality,
        source_split=np.concatenate(splits),
        source=f"{raw.source} + {len(files)} batch(es) in {directory}",
        declared_rows=raw.declared_rows + added,
        extra=raw.extra | {"incoming": listed, "incoming_rows": added},
    )


def admit(files: list[Path], directory: Path) -> list[Path]:
    """Copy new batches into `directory` (checked readable first); a name taken by other bytes is refused."""
    directory.mkdir(parents=True, exist_ok=True)
    admitted = []
    for path in map(Path, files):
        if path.suffix != SUFFIX:
            raise DataSourceError(f"{path}: a batch is an {SUFFIX} file of named arrays")
        read_batch(path)
        target = directory / path.name
        if target.exists() and target.read_bytes() != path.read_bytes():
            raise DataSourceError(f"{target} already holds another batch; rename {path.name}")
        shutil.copyfile(path, target)
        admitted.append(target)
    return admitted


def _same_values(array: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """`array` in the source's dtype, refused when the cast would change a value (300 as uint8)."""
    cast = array.astype(dtype, copy=False)
    if cast.dtype != array.dtype and not np.array_equal(cast, array):
        raise DataSourceError(f"{what} holds {array.dtype} values that {np.dtype(dtype)} cannot hold exactly")
    return cast


def _check(batch: dict[str, np.ndarray], raw: RawData, path: Path) -> int:
    """The batch holds the source's arrays, one row each, in the source's sample shape."""
    missing = [name for name in raw.arrays if name not in batch]
    if missing:
        raise DataSourceError(f"{path}: missing {', '.join(missing)}; a batch holds {', '.join(raw.arrays)}")
    rows = {name: len(batch[name]) for name in raw.arrays}
    if len(set(rows.values())) > 1:
        raise DataSourceError(f"{path}: arrays of unequal length {rows}")
    for name, array in raw.arrays.items():
        if batch[name].shape[1:] != array.shape[1:]:
            raise DataSourceError(f"{path}: '{name}' rows have shape {batch[name].shape[1:]}, the source's {array.shape[1:]}")
    return next(iter(rows.values()))
