"""The row file of a campaign: checking it before a run (:func:`check_output`), reading it
(:func:`read_rows`, :func:`load_counts`), repairing and resuming it (:func:`resume`), and
its Parquet copy (:func:`write_parquet`).

**Resume.** On start the output file is read with :func:`rstheory.rows.scan_rows`, which
checks every line against the row schema (:func:`rstheory.rows.check_row`): a bad line
anywhere but at the end (not JSON, not an object, a ``k`` that is not a JSON integer, a
``status`` other than ``"ok"``/``"error"``, a row of a sequential rule without its stop
fields, ...) is a ValueError naming the file, the line and the field, raised before
anything is written, so a resume never counts a bad row as done and never coerces one.
A last line cut short by a crash (no newline, or not valid JSON) is dropped and the file
rewritten cleanly (atomically). Inputs whose ``(id, config hash)`` already have a row are
skipped, so an interrupted run run again loses and duplicates nothing; error rows count
as done unless ``retry_errors``, which removes them first. Rows of a different
configuration hash in the file are refused (:class:`ConfigMismatchError`) unless
``allow_config_change``; a done input whose prompt changed is refused too. A repair keeps
every other line byte for byte.

**One writer.** A campaign holds :func:`sampler._lock.output_lock` on its output from
before the resume until its last row and its Parquet copy are written, so nothing else
appends to the file while it is read, repaired and written.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rstheory import rows as _rows
from rstheory.rows import ConfigMismatchError
from sampler._lock import check_folder

if TYPE_CHECKING:
    from sampler._datasets import Input

__all__ = ["ConfigMismatchError", "check_output", "load_counts", "read_rows", "write_parquet"]


def _rewrite(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_rows(path) -> list[dict[str, Any]]:
    """The rows of a run's JSONL file, in file order; a cut last line is ignored (not repaired).

    The reader is :func:`rstheory.rows.read_rows`, shared with ``rstheory plan``.

    Raises:
      ValueError: a line other than the last is not valid JSON or not a row.
    """
    return _rows.read_rows(path)


def load_counts(path, *, config_hash: str | None = None, stopping="fixed") -> _rows.Counts:
    """``(k, n)`` of the ``ok`` rows of a run, int64 arrays ``(N,)``, in file order.

    They go straight into :meth:`rstheory.distributions.Empirical.from_counts` (plug-in
    ``k / n`` per input) or :func:`rstheory.certify`. The reader is
    :func:`rstheory.rows.load_counts`, shared with ``rstheory plan --dist fit:FILE``; the
    result is a :class:`rstheory.rows.Counts` ``(k, n)``.

    Rows of a sequential campaign (``config.sequential``) hold ``k`` and ``n`` at a
    data-dependent stop: ``k / n`` there is not an unbiased estimate of ``p_A`` and ``k``
    is not a binomial count of a fixed ``n``, so neither the plug-in law nor
    :func:`rstheory.certify` may take them, and they are refused by default. With
    ``stopping="likelihood"`` they are returned for a likelihood fit of Pr(p_A)
    (:func:`rstheory.distributions.fit`): the likelihood of a stop is proportional in
    ``p_A`` to the binomial one, so the maximum-likelihood fit is that of the stops
    (:mod:`rstheory._rows_schema` has the argument).

    Args:
      path: the run's JSONL file.
      config_hash: keep the rows of this configuration only; required when the file holds
        rows of several (mixing configurations would mix distributions).
      stopping: ``"fixed"`` (default; sequential rows refused) or ``"likelihood"``.

    Raises:
      ConfigMismatchError: several configuration hashes and none chosen (a ValueError).
      ValueError: an unknown configuration hash; an ok row whose ``k`` or ``n`` is not a
        JSON integer with ``0 <= k <= n``, ``n >= 1`` (the message names the file, the line
        and the field); a sequential row with ``stopping="fixed"``.

    Example:
      >>> import json, pathlib, tempfile
      >>> from sampler.run import load_counts
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
      >>> rows = [{"id": "a", "config_hash": "h", "status": "ok", "k": 9, "n": 10},
      ...         {"id": "b", "config_hash": "h", "status": "error", "k": None, "n": None}]
      >>> _ = f.write_text("".join(json.dumps(r) + "\\n" for r in rows))
      >>> k, n = load_counts(f)
      >>> k, n
      (array([9]), array([10]))
    """
    return _rows.load_counts(path, config_hash=config_hash, stopping=stopping)


_JSON_COLUMNS = ("error", "texts", "noise", "config", "versions", "timings")


def require_pyarrow() -> None:
    """Raise RuntimeError, before any work, when Parquet is asked for and pyarrow is missing."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as err:
        raise RuntimeError(
            "writing Parquet needs pyarrow, which is not installed (pip install pyarrow); the "
            "JSONL output is complete without it"
        ) from err


def write_parquet(rows: Sequence[dict[str, Any]], path) -> pathlib.Path:
    """A Parquet copy of ``rows``; nested fields (``config``, ``texts``, ...) as JSON strings.

    Raises:
      RuntimeError: pyarrow is not installed.
    """
    require_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = [
        {
            k: (json.dumps(v, sort_keys=True) if k in _JSON_COLUMNS and v is not None else v)
            for k, v in r.items()
        }
        for r in rows
    ]
    path = pathlib.Path(path)
    pq.write_table(pa.Table.from_pylist(flat), path)
    return path


def check_output(out, *, parquet=None) -> _rows.RowScan | None:
    """Check, before a campaign loads anything, that it can write ``out`` (and ``parquet``).

    Fast (stat calls and one read of ``out``; nothing heavy is imported). Folders are not
    created. Checks: ``out`` is not a directory; its folder exists and is writable; if
    ``out`` exists, it is a readable and writable file and every line passes
    :func:`rstheory.rows.scan_rows` (the row schema; a cut last line is allowed: the run
    repairs it); ``parquet``, when given, is not a directory and its folder exists and is
    writable.

    Args:
      out: the campaign's JSONL file.
      parquet: the path of its Parquet copy, or None.

    Returns:
      the :class:`rstheory.rows.RowScan` of ``out``, or None when it does not exist yet
      (:func:`resume` takes it, so a campaign reads its file once).

    Raises:
      ValueError: ``"out: ..."`` or ``"parquet: ..."`` saying what is wrong; a bad line is
        ``"out: FILE:LINE: ..."`` (naming the field when a row breaks the schema).

    Example:
      >>> import pathlib, tempfile
      >>> folder = pathlib.Path(tempfile.mkdtemp())
      >>> check_output(folder / "rows.jsonl", parquet=folder / "rows.parquet")
      >>> _ = (folder / "rows.jsonl").write_text("[1, 2]\\n")
      >>> check_output(folder / "rows.jsonl")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: out: .../rows.jsonl:1: not a row of a run (no 'id' / 'config_hash')
    """
    out = pathlib.Path(out)
    if out.is_dir():
        raise ValueError(f"out: {out} is a directory; give the path of a JSONL file")
    check_folder(out, name="out")
    if out.exists():
        if not out.is_file():
            raise ValueError(f"out: {out} is not a regular file")
        if not os.access(out, os.R_OK | os.W_OK):
            raise ValueError(f"out: {out} is not readable and writable")
        try:
            scan = _rows.scan_rows(out)
        except OSError as err:
            raise ValueError(f"out: cannot read {out}: {err.strerror}") from err
        except ValueError as err:
            raise ValueError(f"out: {err}") from err
    else:
        scan = None
    if parquet is not None:
        parquet = pathlib.Path(parquet)
        if parquet.is_dir():
            raise ValueError(f"parquet: {parquet} is a directory; give the path of a file")
        check_folder(parquet, name="parquet")
    return scan


def resume(
    out: pathlib.Path,
    chash: str,
    inputs: Sequence[Input],
    *,
    allow_config_change: bool,
    retry_errors: bool,
    scan: _rows.RowScan | None = None,
) -> tuple[list[Input], bool]:
    """Read (and repair) ``out``; the inputs still to do, and whether the file was rewritten.

    ``scan``: the file as :func:`check_output` read it under the same lock (None: read it
    here).

    See the module docstring. Every line is checked (:func:`rstheory.rows.scan_rows`), and
    the configuration and the prompts, before anything is written: a bad row is an error,
    never a done input, and a refused resume leaves the file as it was. A repair (a cut last
    line dropped, error rows removed for ``retry_errors``) writes the kept lines, byte for
    byte, to ``<out>.tmp`` and ``os.replace``-s the file with it, so a crash leaves either
    the old file or the new one.
    That replacement is safe because the caller holds :func:`sampler._lock.output_lock` on
    ``out``: no other campaign appends to the old file meanwhile (its rows would be lost
    with the replaced file), and the lock itself is on ``<out>.lock``, which is never
    replaced. The folder of ``out`` is not created.

    Raises:
      ConfigMismatchError: rows of another hash without ``allow_config_change``.
      ValueError: a done input whose prompt changed; a bad line that is not the last
        (``"FILE:LINE: ..."``, naming the field when a row breaks the schema).
    """
    rows, repaired = [], False
    if scan is None and out.exists():
        scan = _rows.scan_rows(out)
    if scan is not None:
        rows, clean, repaired = scan.rows, scan.clean, scan.truncated
        others = sorted({r["config_hash"] for r in rows} - {chash})
        if others and not allow_config_change:
            raise ConfigMismatchError(
                f"{out} holds rows of another configuration (hash {others[0][:12]}...; this "
                f"run's is {chash[:12]}...): write to another file, or pass "
                "allow_config_change=True (--allow-config-change) to append to it"
            )
        if retry_errors:
            lines = clean.split(b"\n")[:-1]  # the rows' own lines, in order (RowScan.clean)
            keep = [r["config_hash"] != chash or r.get("status", "ok") == "ok" for r in rows]
            if not all(keep):
                rows = [r for r, k in zip(rows, keep, strict=True) if k]
                clean = b"".join(x + b"\n" for x, k in zip(lines, keep, strict=True) if k)
                repaired = True
    done = {r["id"]: r for r in rows if r["config_hash"] == chash}
    for x in inputs:
        if x.id in done and done[x.id].get("prompt") != x.prompt:
            raise ValueError(
                f"input {x.id!r} was collected with prompt {done[x.id].get('prompt')!r} under "
                f"the same configuration, now {x.prompt!r}: write to another file"
            )
    if repaired:  # every check passed: a refused resume writes nothing
        _rewrite(out, clean)
    return [x for x in inputs if x.id not in done], repaired
