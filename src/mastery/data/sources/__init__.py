"""The built-in datasets, one module a modality; importing this package registers them all."""

from mastery.data.sources import corpus, images, series, text  # noqa: F401
from mastery.data.sources.images import read_idx

__all__ = ["read_idx"]
