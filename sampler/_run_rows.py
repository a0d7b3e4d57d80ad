"""The row file of a campaign: reading it (:func:`read_rows`, :func:`load_counts`),
repairing and resuming it (:func:`resume`), and its Parquet copy (:func:`write_parquet`).

**Resume.** On start the output file is read; a last line cut short by a crash (no
newline, or not valid JSON) is dropped and the file rewritten cleanly (atomically). Inputs
whose ``(id, config hash)`` already have a row are skipped, so an interrupted run run again
loses and duplicates nothing; error rows count as done unless ``retry_errors``, which
removes them first. Rows of a different configuration hash in the file are refused
(:class:`ConfigMismatchError`) unless ``allow_config_change``; a done input whose prompt
changed is refused too.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from rstheory import rows as _rows
from rstheory.rows import ConfigMismatchError
from sampler._datasets import Input

__all__ = ["ConfigMismatchError", "load_counts", "read_rows", "write_parquet"]


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


def load_counts(path, *, config_hash: str | None = None) -> _rows.Counts:
    """``(k, n)`` of the ``ok`` rows of a run, int64 arrays ``(N,)``, in file order.

    They go straight into :meth:`rstheory.distributions.Empirical.from_counts` (plug-in
    ``k / n`` per input) or :func:`rstheory.certify`. The reader is
    :func:`rstheory.rows.load_counts`, shared with ``rstheory plan --dist fit:FILE``; the
    result is a :class:`rstheory.rows.Counts` ``(k, n)``.

    Args:
      path: the run's JSONL file.
      config_hash: keep the rows of this configuration only; required when the file holds
        rows of several (mixing configurations would mix distributions).

    Raises:
      ConfigMismatchError: several configuration hashes and none chosen (a ValueError).
      ValueError: an unknown configuration hash; an ok row whose ``k`` or ``n`` is not a
        JSON integer with ``0 <= k <= n``, ``n >= 1`` (the message names the file, the line
        and the field).

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
    return _rows.load_counts(path, config_hash=config_hash)


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


def resume(
    out: pathlib.Path,
    chash: str,
    inputs: Sequence[Input],
    *,
    allow_config_change: bool,
    retry_errors: bool,
) -> tuple[list[Input], bool]:
    """Read (and repair) ``out``; the inputs still to do, and whether the file was rewritten.

    Raises:
      ConfigMismatchError: rows of another hash without ``allow_config_change``.
      ValueError: a done input whose prompt changed; a corrupt line mid-file.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, repaired = [], False
    if out.exists():
        scan = _rows.scan_rows(out)
        rows, clean, repaired = scan.rows, scan.clean, scan.truncated
        others = sorted({r["config_hash"] for r in rows} - {chash})
        if others and not allow_config_change:
            raise ConfigMismatchError(
                f"{out} holds rows of another configuration (hash {others[0][:12]}...; this "
                f"run's is {chash[:12]}...): write to another file, or pass "
                "allow_config_change=True (--allow-config-change) to append to it"
            )
        if retry_errors:
            keep = [r for r in rows if not (r["config_hash"] == chash and r["status"] != "ok")]
            if len(keep) != len(rows):
                rows = keep
                clean = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
                repaired = True
        if repaired:
            _rewrite(out, clean)
    done = {r["id"]: r for r in rows if r["config_hash"] == chash}
    for x in inputs:
        if x.id in done and done[x.id].get("prompt") != x.prompt:
            raise ValueError(
                f"input {x.id!r} was collected with prompt {done[x.id].get('prompt')!r} under "
                f"the same configuration, now {x.prompt!r}: write to another file"
            )
    return [x for x in inputs if x.id not in done], repaired
