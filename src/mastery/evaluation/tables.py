"""Markdown tables: the form reports take in a pull request, a README and MLflow's artifact view."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A GitHub-flavoured table; cells are written as given, so format numbers before."""
    lines = [_row(columns), "|" + "|".join("---" for _ in columns) + "|"]
    lines += [_row(row) for row in rows]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"
