"""Fixed-width text tables of the command line (``rstheory plan``'s grid of n, ``rstheory
analyze``'s predicted curves): a header of right-aligned titles over right-aligned cells.

Example:
  >>> from rstheory._cli_tables import Column, table_lines
  >>> cols = (Column("n", 6), Column("E[R_n]", 8, ".4f"))
  >>> print("\\n".join(table_lines(cols, [(25, 0.07963), (100, 0.24291)], indent="  ")))
         n   E[R_n]
        25   0.0796
       100   0.2429
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

__all__ = ["Column", "print_table", "table_lines"]


class Column(NamedTuple):
    """One column: its title, its width in characters, the format spec of its cells."""

    title: str
    width: int
    spec: str = ""


def table_lines(
    columns: Sequence[Column], rows: Iterable[Sequence], *, indent: str = ""
) -> list[str]:
    """The header and one line per row, cells joined by one space after ``indent``.

    ``rows``: sequences of ``len(columns)`` values, each written as
    ``format(value, f">{width}{spec}")``.
    """
    lines = [indent + " ".join(f"{c.title:>{c.width}}" for c in columns)]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells, the table {len(columns)} columns")
        cells = (format(v, f">{c.width}{c.spec}") for c, v in zip(columns, row, strict=True))
        lines.append(indent + " ".join(cells))
    return lines


def print_table(columns: Sequence[Column], rows: Iterable[Sequence], *, indent: str = "") -> None:
    """Print :func:`table_lines`."""
    for line in table_lines(columns, rows, indent=indent):
        print(line)
