"""``rstheory analyze --table`` against the tables Cohen et al. (2019) published from the same logs
(their repository's analysis/markdown and analysis/latex files, in data/cohen2019/analysis)."""

import re
from pathlib import Path

import pytest

from rstheory._cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "cohen2019"
# dataset -> (model, noise levels (rows), radii (columns)) of the published tables
TABLES = {
    "cifar10": ("resnet110", ["0.12", "0.25", "0.50", "1.00"], [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]),
    "imagenet": ("resnet50", ["0.25", "0.50", "1.00"], [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]),
}


def _cells(text: str, style: str) -> list[list[tuple[str, bool]]]:
    """(value, marked best) of every body cell, row by row, parsed independently of the writer."""
    rows = []
    for line in text.strip().splitlines()[2:]:
        if style == "markdown":
            parts = [c.strip() for c in line.split("|")[1:] if c.strip()]
            cells = [(c.replace("<b>*</b>", ""), "<b>*</b>" in c) for c in parts]
        else:
            parts = [c.strip() for c in line.rstrip("\\").split("&")[1:]]
            cells = [(re.sub(r"\\textbf\{(.*)\}", r"\1", c), "textbf" in c) for c in parts]
        rows.append(cells)
    return rows


@pytest.mark.parametrize("style", ["markdown", "latex"])
@pytest.mark.parametrize("dataset", sorted(TABLES))
def test_every_cell_of_the_published_table(dataset, style, capsys):
    model, noises, radii = TABLES[dataset]
    files = [
        str(DATA / "certify" / dataset / model / f"noise_{s}" / "test" / f"sigma_{s}")
        for s in noises
    ]
    assert main(["analyze", *files, "--radii", *map(str, radii), "--table", style]) == 0
    out = capsys.readouterr().out
    published = (DATA / "analysis" / style / f"vary_noise_{dataset}").read_text()
    ours = out[out.index("|  |" if style == "markdown" else "& $r") :]
    ours = ours[: ours.index("figure:")] if "figure:" in ours else ours
    mine, theirs = _cells(ours, style), _cells(published, style)
    assert len(mine) == len(theirs) == len(noises)
    for row_mine, row_theirs in zip(mine, theirs, strict=True):
        assert row_mine == row_theirs
    assert ours.strip() == published.strip()  # and the layout, byte for byte


def test_cells_are_the_fraction_certified_correct_at_the_radius():
    # an independent route: pandas-free re-count of the TSV columns
    f = DATA / "certify/cifar10/resnet110/noise_0.50/test/sigma_0.50"
    rows = [line.split("\t") for line in f.read_text().splitlines()[1:]]
    count = sum(1 for r in rows if r[4] == "1" and float(r[3]) >= 0.75)
    from rstheory import analyze

    log = analyze.read_log(f)
    assert analyze.certified_accuracy(log, [0.75])[0] == count / len(rows) == 0.32
