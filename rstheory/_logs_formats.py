r"""The file formats of :func:`rstheory.analyze.read_log` (:mod:`rstheory._logs`): detection,
Cohen et al.'s CERTIFY TSV and the 2024 paper's per-input CSV, field by field.

* ``"cohen"``: tab-separated ``idx label predict radius correct time`` (Cohen, Rosenfeld &
  Kolter 2019, ICML, their CERTIFY); ``sigma`` from a ``sigma_T`` part of the path.
* ``"p2"``: ``index, y_real, y_pred, radius[, pA][, time]`` (Seferis, Kollias & Cheng 2024,
  ECAI); ``sigma``, ``alpha`` and ``n`` from the name ``..._sigma<S>_alpha<A>_n<N>.csv``, and
  the selection samples ``n0`` from :data:`P2_SELECTION`: 0 (single-stage, the paper's runs)
  except for the published file that is Cohen et al.'s two-stage output.

Each reader returns the per-input columns, the printed radii as text, the settings ``found``
in the file and the ``defaults`` its provenance gives (a keyword overrides a default; it must
agree with a found setting).
"""

from __future__ import annotations

import csv
import io
import math
import pathlib
import re

import numpy as np

__all__ = ["FORMATS", "P2_SELECTION", "detect_format", "parse_seconds", "read_cohen", "read_p2"]

FORMATS = ("cohen", "p2", "rows")
# Selection samples n0 of published 2024-paper CSVs, by file name, where the file is not one of
# the paper's single-stage runs (n0 = 0): imagenet_..._n100000.csv is, row for row, Cohen et
# al.'s CERTIFY log noise_0.50/test/sigma_0.50, two-stage with n0 = 100 (Cohen, Rosenfeld &
# Kolter 2019, Section 4; data/p2-certifications/README.md).
P2_SELECTION = {"imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv": 100}
_COHEN = ("idx", "label", "predict", "radius", "correct", "time")
_P2 = ("index", "y_real", "y_pred", "radius")
_P2_NAME = re.compile(r"_sigma(?P<sigma>[0-9.]+)_alpha(?P<alpha>[0-9.eE-]+)_n(?P<n>[0-9]+)\.csv$")
_SIGMA_PATH = re.compile(r"^sigma_(?P<sigma>[0-9]*\.?[0-9]+)$")
_HMS = re.compile(r"^(?:(?P<d>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d*)?)$")


def parse_seconds(text: str, *, where: str = "time") -> float:
    """Seconds of ``"15.4"`` or ``"0:02:31.238689"`` (``H:MM:SS[.ffffff]``, as Python prints a
    ``timedelta``, ``"D days, H:MM:SS"`` included).

    Example:
      >>> parse_seconds("15.4"), parse_seconds("0:02:31.5"), parse_seconds("1 day, 0:00:01")
      (15.4, 151.5, 86401.0)
    """
    s = text.strip()
    m = _HMS.match(s)
    if m:
        days = int(m["d"] or 0)
        return ((days * 24 + int(m["h"])) * 60 + int(m["m"])) * 60 + float(m["s"])
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{where}: field 'time': expected seconds or H:MM:SS.ffffff, got {text!r}")
    return v


def detect_format(path) -> str:
    """The format of a log from its first bytes: ``"rows"``, ``"cohen"`` or ``"p2"``.

    Raises:
      ValueError: the content matches none (naming the file and the header it found).
    """
    path = pathlib.Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "rows"
    text = head.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        return "rows"
    first = text.splitlines()[0] if text else ""
    if tuple(first.split("\t")[:1]) == ("idx",) and "radius" in first.split("\t"):
        return "cohen"
    if set(_P2) <= {c.strip() for c in first.split(",")}:
        return "p2"
    if first.split("\t") == ["idx", "label", "predict", "correct", "time"]:
        raise ValueError(f"{path}: a PREDICT log (no radius column), not a certification log")
    raise ValueError(
        f"{path}: line 1: not a certification log of a known format {FORMATS} "
        f"(header {first[:80]!r})"
    )


def _table(path, delimiter: str, need) -> tuple[list[dict], list[int]]:
    text = pathlib.Path(path).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    fields = [f.strip() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    missing = [c for c in need if c not in fields]
    if missing:
        raise ValueError(f"{path}: line 1: missing columns {missing} (header {fields})")
    rows, lines = [], []
    for row in reader:
        if not any((v or "").strip() for v in row.values()):
            continue
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise ValueError(f"{path}: no inputs")
    return rows, lines


def _column(rows, lines, path, name: str, kind: type):
    out = []
    for row, line in zip(rows, lines, strict=True):
        text = (row.get(name) or "").strip()
        try:
            v = kind(text) if kind is not int else int(text)
            if kind is float and not math.isfinite(v):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{path}:{line}: field {name!r}: expected "
                f"{'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        out.append(v)
    return np.asarray(out, dtype=np.int64 if kind is int else np.float64)


def read_cohen(path) -> dict:
    """Columns of a CERTIFY log (module docstring)."""
    rows, lines = _table(path, "\t", _COHEN)
    found = next(
        (
            float(m["sigma"])
            for part in pathlib.Path(path).parts[::-1]
            if (m := _SIGMA_PATH.match(part))
        ),
        None,
    )
    predict = _column(rows, lines, path, "predict", int)
    correct = _column(rows, lines, path, "correct", int)
    if not np.isin(correct, (0, 1)).all():
        line = lines[int(np.flatnonzero(~np.isin(correct, (0, 1)))[0])]
        raise ValueError(f"{path}:{line}: field 'correct': expected 0 or 1")
    times = [
        parse_seconds(r["time"] or "", where=f"{path}:{ln}")
        for r, ln in zip(rows, lines, strict=True)
    ]
    return dict(
        idx=_column(rows, lines, path, "idx", int),
        label=_column(rows, lines, path, "label", int),
        predict=predict,
        radius=_column(rows, lines, path, "radius", float),
        radius_text=[r["radius"] for r in rows],
        correct=correct.astype(bool),
        time=np.asarray(times),
        found={"sigma": found},
        defaults={},
        p_lower=None,
    )


def read_p2(path) -> dict:
    """Columns of a 2024-paper CSV (module docstring)."""
    rows, lines = _table(path, ",", _P2)
    m = _P2_NAME.search(pathlib.Path(path).name)
    found = {"sigma": None, "alpha": None, "n": None}
    if m:
        found = {"sigma": float(m["sigma"]), "alpha": float(m["alpha"]), "n": int(m["n"])}
    label = _column(rows, lines, path, "y_real", int)
    predict = _column(rows, lines, path, "y_pred", int)
    has = rows[0].keys()
    return dict(
        idx=_column(rows, lines, path, "index", int),
        label=label,
        predict=predict,
        radius=_column(rows, lines, path, "radius", float),
        radius_text=[r["radius"] for r in rows],
        correct=(predict == label) & (predict >= 0),
        time=_column(rows, lines, path, "time", float)
        if "time" in has
        else np.full(len(rows), np.nan),
        found=found,
        defaults={"n0": P2_SELECTION.get(pathlib.Path(path).name, 0)},
        p_lower=_column(rows, lines, path, "pA", float) if "pA" in has else None,
    )
