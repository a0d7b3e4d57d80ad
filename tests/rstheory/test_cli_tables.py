"""The fixed-width tables of the command line: cells right-aligned under their titles."""

import pytest

from rstheory._cli_tables import Column, table_lines


def test_every_line_has_the_columns_widths_and_the_cells_values():
    cols = (Column("n", 6), Column("radius", 9, ".4f"), Column("label", 5))
    rows = [(25, 0.079631, "a"), (100000, 12.5, "bcd")]
    lines = table_lines(cols, rows, indent="  ")
    width = 2 + sum(c.width for c in cols) + len(cols) - 1
    assert all(len(line) == width for line in lines)
    for line, row in zip(lines[1:], rows, strict=True):
        cells = line.split()
        assert int(cells[0]) == row[0]
        assert float(cells[1]) == round(row[1], 4)
        assert cells[2] == row[2]
    assert lines[0].split() == ["n", "radius", "label"]


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 cells, the table 3 columns"):
        table_lines((Column("a", 3), Column("b", 3), Column("c", 3)), [(1, 2)])
