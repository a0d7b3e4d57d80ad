"""The one reader of campaign rows and pilot counts, for rstheory and sampler alike.

``python -m sampler collect`` writes one JSON object per input and per line (the fields are
described in :mod:`sampler.run`); rstheory needs the vote counts ``(k, n)`` of those rows,
for :func:`rstheory.distributions.fit`, :meth:`rstheory.distributions.Empirical.from_counts`
or :func:`rstheory.certify`. Both packages read the rows here, with plain :mod:`json` and
numpy (nothing here imports sampler or torch):

* :func:`scan_rows` reads a run's file as its writer left it. A row is a line ended by its
  newline, so an unterminated last line is dropped, and so is a last line that is not valid
  JSON (a crash in the middle of a write); any other bad line is an error naming the file
  and the line. Blank lines are skipped.
* :func:`read_rows` is the list of rows of :func:`scan_rows`.
* :func:`load_counts` selects the counts of the successful rows (``status`` ``"ok"``) of one
  configuration: a file holding rows of several configuration hashes is refused
  (:class:`ConfigMismatchError`) unless ``config_hash=`` chooses one, since mixing
  configurations would mix distributions of ``p_A``.
* :func:`read_counts` reads pilot counts for planning: such a file of rows, or hand-written
  JSONL with keys ``k`` and ``n`` (``id``, ``config_hash`` and ``status`` optional; a row
  without ``status`` counts as ``"ok"``), or a CSV with columns ``k`` and ``n``.
* :func:`read_settings` reads the configuration values (``config.sigma``, ``config.alpha``)
  that the rows :func:`read_counts` selects were collected with, so that a plan made from
  them uses the same noise level and significance level.

**The row schema** (:func:`check_row`), checked on every line that every reader reads,
and so on resume: ``status``, when present, is ``"ok"`` or ``"error"``. Counts are
measurements and are never coerced: in a successful row ``k`` and ``n`` must be JSON
integers (not ``95.5``, ``95.0``, ``"90"``, ``true`` or ``null``) with ``1 <= n <= 2**53 - 1``
(the largest count rstheory's bounds take) and ``0 <= k <= n``. A row of a run also has
string ``id`` and ``config_hash``, a string or null ``prompt``, and an ``error`` that is an
object (``type``, ``message``) or null; in any other row a ``config_hash``, when present, is
a non-empty string or null.
An ok row of the sequential rule (a ``stop_reason`` field, or a ``config.sequential``
rule) also has the stop fields of :mod:`rstheory._rows_schema`, where the schema is
checked. Anything else is an error naming the file, the line and the field. In a CSV,
``k`` and ``n`` are decimal digits only.

**PREDICT rows** (``mode`` ``"predict"``, from ``collect --mode predict``) hold the count
of the class chosen by the same samples, the largest of the counts: every reader of pilot
counts refuses them.

**Sequential rows** hold ``k`` and ``n`` at a data-dependent stop, which are not
fixed-``n`` pilot counts: :func:`load_counts` and :func:`read_counts` refuse them unless
``stopping="likelihood"``, for a maximum-likelihood fit of Pr(p_A)
(:func:`rstheory.distributions.fit`), whose maximizer is the same for stops as for fixed
``n`` (the likelihood principle; :mod:`rstheory._rows_schema` says why).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rstheory._rows_schema import (
    Stopping,
    check_pair,
    check_row,
    check_stopping,
    is_sequential,
    refuse,
)
from rstheory._validation import MAX_COUNT  # noqa: F401  (the schema's cap on n, named here too)

__all__ = [
    "RUN_KEYS",
    "ConfigMismatchError",
    "Counts",
    "RowScan",
    "check_row",
    "load_counts",
    "read_counts",
    "read_rows",
    "read_settings",
    "scan_rows",
]

# The keys every row of a run has (sampler's writer sets both on every row).
RUN_KEYS = ("id", "config_hash")

# The settings of a row's ``config`` (sampler's CertifyConfig.to_dict) that a plan made from
# its counts must share: the noise level and the significance level.
SETTING_KEYS = ("sigma", "alpha")


class ConfigMismatchError(ValueError):
    """Rows of several configuration hashes where one configuration is needed.

    Attributes:
      path: the file, or None.
      hashes: the configuration hashes found (None for rows without one), sorted.
    """

    def __init__(self, message: str, *, path=None, hashes: Sequence[str | None] = ()):
        super().__init__(message)
        self.path = path
        self.hashes = tuple(hashes)


class Counts(NamedTuple):
    """Vote counts of the successful rows, int64 arrays ``(N,)`` in file order.

    Unpacks as ``k, n = load_counts(path)``.
    """

    k: np.ndarray
    n: np.ndarray


class RowScan(NamedTuple):
    """What :func:`scan_rows` read.

    Attributes:
      rows: the rows (JSON objects), in file order.
      line_numbers: the line (from 1) of each row, for messages.
      clean: the bytes of the complete lines, each with its newline (for a repair).
      truncated: whether a cut last line was dropped.
    """

    rows: list[dict[str, Any]]
    line_numbers: list[int]
    clean: bytes
    truncated: bool


def _scan_bytes(data: bytes, path, required: Sequence[str]) -> RowScan:
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the data end with a newline
    truncated = bool(tail.strip())
    rows, numbers, good = [], [], []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:  # JSONDecodeError, or UnicodeDecodeError of a cut character
            if i == len(lines) - 1 and not truncated:
                truncated = True  # the last line, cut mid-write and then newline-terminated
                continue
            raise ValueError(
                f"{path}:{i + 1}: not valid JSON ({err}); only a cut last line is repaired"
            ) from err
        if not isinstance(row, dict) or not all(key in row for key in required):
            keys = " / ".join(repr(key) for key in required)
            what = f"no {keys}" if required else "not a JSON object"
            raise ValueError(f"{path}:{i + 1}: not a row of a run ({what})")
        check_row(row, where=f"{path}:{i + 1}", run=bool(required))
        rows.append(row)
        numbers.append(i + 1)
        good.append(line)
    clean = b"".join(line + b"\n" for line in good)
    return RowScan(rows, numbers, clean, truncated)


def scan_rows(path, *, required: Sequence[str] = RUN_KEYS) -> RowScan:
    """Read a run's JSONL file as its writer left it (module docstring).

    Args:
      path: the file.
      required: keys every row must have (default :data:`RUN_KEYS`).

    Raises:
      OSError: the file cannot be read.
      ValueError: a line other than the last is not valid JSON, or not an object with the
        ``required`` keys.
    """
    path = pathlib.Path(path)
    return _scan_bytes(path.read_bytes(), path, tuple(required))


def read_rows(path) -> list[dict[str, Any]]:
    """The rows of a run's JSONL file, in file order; a cut last line is ignored (not repaired).

    Raises:
      ValueError: the file does not exist; a line other than the last is not valid JSON or
        not a row.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    return scan_rows(path).rows


def mixed_configurations(path, hashes: Sequence[str | None]) -> str:
    """The message of a file holding rows of several configurations (without the remedy)."""
    shown = ", ".join("(none)" if h is None else h for h in hashes)
    return (
        f"{path} holds rows of {len(hashes)} configurations (config_hash {shown}): mixing "
        "them would mix distributions"
    )


def _mixed(path, hashes: list[str | None]) -> ConfigMismatchError:
    return ConfigMismatchError(
        f"{mixed_configurations(path, hashes)}; pass config_hash= to choose one",
        path=path,
        hashes=hashes,
    )


def _selected(scan: RowScan, path, config_hash: str | None) -> list[tuple[int, dict[str, Any]]]:
    """``(line, row)`` of the ``ok`` rows of one configuration (module docstring)."""
    found = {row.get("config_hash") for row in scan.rows}
    hashes = sorted(found, key=lambda h: (h is not None, h or ""))
    if config_hash is None and len(hashes) > 1:
        raise _mixed(path, hashes)
    if config_hash is not None and scan.rows and config_hash not in found:
        raise ValueError(f"config_hash {config_hash!r} not in {path} (it holds {hashes})")
    return [
        (line, row)
        for line, row in zip(scan.line_numbers, scan.rows, strict=True)
        if row.get("status", "ok") == "ok"
        and (config_hash is None or row.get("config_hash") == config_hash)
    ]


def _select(scan: RowScan, path, config_hash: str | None, stopping: Stopping) -> Counts:
    """The counts of the ``ok`` rows of one configuration (module docstring); a sequential
    row is refused unless ``stopping="likelihood"``."""
    selected = _selected(scan, path, config_hash)
    for line, row in selected:
        if row.get("mode") == "predict":
            raise ValueError(
                f"{path}:{line}: a row of a PREDICT campaign (mode 'predict'): its k is the "
                "count of the class the same samples chose (the largest count, biased "
                "upwards), not a pilot count of p_A; plan from the rows of a certify run"
            )
    if check_stopping(stopping) == "fixed":
        for line, row in selected:
            if is_sequential(row):
                raise refuse(f"{path}:{line}", row)
    chosen = [row for _, row in selected]
    k = [row["k"] for row in chosen]  # checked by the scan (check_row)
    n = [row["n"] for row in chosen]
    return Counts(np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64))


def load_counts(path, *, config_hash: str | None = None, stopping: Stopping = "fixed") -> Counts:
    """:class:`Counts` ``(k, n)`` of the ``ok`` rows of a run, int64 arrays ``(N,)``.

    Args:
      path: the run's JSONL file (rows with ``id`` and ``config_hash``).
      config_hash: keep the rows of this configuration only; required when the file holds
        rows of several (mixing configurations would mix distributions).
      stopping: ``"fixed"`` (default): the counts are fixed-``n`` counts, and rows of the
        sequential rule are refused (``k / n`` at a data-dependent stop is not an unbiased
        pilot of ``p_A``); ``"likelihood"``: rows of the sequential rule give ``(k, n)`` at
        their stops, for a likelihood fit (:func:`rstheory.distributions.fit`, whose
        maximizer does not depend on the stopping rule; module docstring).

    Raises:
      ConfigMismatchError: several configuration hashes and none chosen.
      ValueError: the file does not exist or has a bad line; an unknown ``config_hash``;
        an ok row whose ``k`` or ``n`` is missing, not a JSON integer or out of range
        (the message names the file, the line and the field); a sequential row with
        ``stopping="fixed"``; a ``stopping`` not in ``("fixed", "likelihood")``.

    Example:
      >>> import json, pathlib, tempfile
      >>> from rstheory.rows import load_counts
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
      >>> rows = [{"id": "a", "config_hash": "h", "status": "ok", "k": 9, "n": 10},
      ...         {"id": "b", "config_hash": "h", "status": "error", "k": None, "n": 10}]
      >>> _ = f.write_text("".join(json.dumps(r) + "\\n" for r in rows))
      >>> load_counts(f)
      Counts(k=array([9]), n=array([10]))
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    check_stopping(stopping)
    return _select(scan_rows(path), path, config_hash, stopping)


def _read_csv(text: str, path) -> Counts:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"k", "n"} <= set(reader.fieldnames):
        raise ValueError(
            f"{path}: expected a CSV header with columns k and n, got {reader.fieldnames}"
        )
    k, n = [], []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        pair = []
        for name in ("k", "n"):
            text = row[name]
            if text is None or not text.strip().isascii() or not text.strip().isdigit():
                raise ValueError(
                    f"{where}: field {name!r}: k and n must be integers (decimal digits), "
                    f"got {text!r}"
                )
            pair.append(int(text))
        check_pair(*pair, where)
        k.append(pair[0])
        n.append(pair[1])
    return Counts(np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64))


def _pilot_scan(path, data: bytes) -> RowScan:
    if data and not data.endswith(b"\n"):
        data += b"\n"  # written by hand: the last line is whole unless it does not parse
    return _scan_bytes(data, path, ())


def _read_bytes(path: pathlib.Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read pilot counts from {os.fspath(path)}: {err}") from None


def _is_rows(path: pathlib.Path) -> bool:
    return path.suffix in (".jsonl", ".json")


def read_counts(path, *, config_hash: str | None = None, stopping: Stopping = "fixed") -> Counts:
    """Pilot counts ``(k, n)`` from JSONL rows or a CSV with columns ``k`` and ``n``.

    A ``.jsonl`` or ``.json`` file is read as rows (module docstring): those of a run, or
    hand-written objects with keys ``k`` and ``n``, whose last line may lack its newline.
    Rows whose ``status`` is not ``"ok"`` are skipped, and a file holding rows of several
    configuration hashes is refused unless ``config_hash`` chooses one; rows of the
    sequential rule are refused unless ``stopping="likelihood"`` (as in
    :func:`load_counts`). Any other file is read as a CSV, which holds no configuration
    hash.

    Raises:
      ConfigMismatchError: several configuration hashes and none chosen.
      ValueError: the file cannot be read; a bad line or count (naming the file, the line
        and the field); ``config_hash`` for a CSV or not in the file; no counts at all.

    Example:
      >>> import pathlib, tempfile
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "pilot.csv"
      >>> _ = f.write_text("k,n\\n48,50\\n50,50\\n")
      >>> read_counts(f).k.tolist()
      [48, 50]
    """
    path = pathlib.Path(path)
    check_stopping(stopping)
    data = _read_bytes(path)
    if _is_rows(path):
        counts = _select(_pilot_scan(path, data), path, config_hash, stopping)
    elif config_hash is not None:
        raise ValueError(f"{path}: a CSV file holds no configuration hash to choose from")
    else:
        try:
            text = data.decode()
        except UnicodeDecodeError as err:
            raise ValueError(f"cannot read pilot counts from {path}: {err}") from None
        counts = _read_csv(text, path)
    if not len(counts.k):
        raise ValueError(f"{path}: no pilot counts found")
    return counts


def _setting(row: dict[str, Any], key: str, where: str):
    config = row.get("config")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise ValueError(f"{where}: field 'config' must be an object or null, got {config!r}")
    value = config.get(key)
    if value is not None and (type(value) not in (int, float) or not np.isfinite(value)):
        raise ValueError(f"{where}: field 'config.{key}' must be a number, got {value!r}")
    return value


def read_settings(
    path, *, config_hash: str | None = None, keys: Sequence[str] = SETTING_KEYS
) -> dict[str, float]:
    """The configuration values the rows of :func:`read_counts` were collected with.

    ``python -m sampler collect`` writes its configuration in every row (``config``, with
    ``sigma`` and ``alpha`` among its keys; every row of one configuration hash holds the
    same). For each of ``keys`` this returns ``config[key]`` of the rows whose counts
    :func:`read_counts` reads (the ``ok`` rows of the chosen configuration), when they all
    hold it; a key no row holds is left out (hand-written rows, a CSV: an empty dict).

    Raises:
      ConfigMismatchError, ValueError: as :func:`read_counts`; also when the selected rows
        disagree on a key, or some hold it and others do not (naming the file, the lines
        and both values), or a value is not a number.

    Example:
      >>> import json, pathlib, tempfile
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
      >>> cfg = {"sigma": 0.25, "alpha": 0.001, "n": 100}
      >>> rows = [{"id": str(i), "config_hash": "h", "status": "ok", "k": 90 + i, "n": 100,
      ...          "config": cfg} for i in range(2)]
      >>> _ = f.write_text("".join(json.dumps(r) + "\\n" for r in rows))
      >>> read_settings(f)
      {'sigma': 0.25, 'alpha': 0.001}
    """
    path = pathlib.Path(path)
    data = _read_bytes(path)
    if not _is_rows(path):
        if config_hash is not None:
            raise ValueError(f"{path}: a CSV file holds no configuration hash to choose from")
        return {}
    chosen = _selected(_pilot_scan(path, data), path, config_hash)
    out = {}
    for key in keys:
        seen: dict[Any, int] = {}  # value -> first line holding it
        for line, row in chosen:
            value = _setting(row, key, f"{path}:{line}")
            seen.setdefault(value, line)
        if len(seen) > 1:
            (a, line_a), (b, line_b) = list(seen.items())[:2]
            shown = ["none" if v is None else repr(v) for v in (a, b)]
            raise ValueError(
                f"{path}: the selected rows disagree on config.{key}: {shown[0]} (line {line_a}) "
                f"and {shown[1]} (line {line_b}); a plan needs one {key}"
            )
        if seen and None not in seen:
            out[key] = next(iter(seen))
    return out
