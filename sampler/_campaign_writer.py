"""The writer of a campaign's rows: :class:`Writer`, the only writer of the output file.

:func:`sampler._campaign.run_campaign` opens one :class:`Writer` on the output and every
backend hands it the rows it builds (:func:`sampler._campaign.certify_row`); the writer
appends each row to the JSON Lines file, flushed and ``os.fsync``-ed as soon as it comes,
drops a second row of an id it already wrote, keeps the progress bar and the counts of
the :class:`sampler._campaign.RunSummary`. The layout of a row is in
:mod:`sampler._campaign` (certify rows) and :mod:`sampler._campaign_predict` (predict rows).

Example:
  >>> import json, pathlib, tempfile
  >>> from sampler._campaign_writer import Writer
  >>> out = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
  >>> with Writer(out, total=1, progress=False) as w:
  ...     w.write({"id": "a", "status": "ok", "n0": 2, "n": 8, "timings": {}})
  ...     w.write({"id": "a", "status": "ok", "n0": 2, "n": 8, "timings": {}})
  True
  False
  >>> w.ok, w.errors, w.samples
  (1, 0, 10)
  >>> sorted(json.loads(out.read_text())["timings"])
  ['finished_at']
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import sys
import time
from typing import TYPE_CHECKING, Any

from sampler._config import jsonable

if TYPE_CHECKING:
    from sampler._packing import PackingStats

__all__ = ["Writer"]


def _progress_bar(total: int, enabled: bool | None):
    from tqdm import tqdm

    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, unit="input", desc="collect", disable=disable, dynamic_ncols=True)


class Writer:
    """The only writer of a campaign's file: appends, flushes and fsyncs one row at a time.

    A row whose id was already written by this writer is dropped (a retried input arriving
    twice), so each input has exactly one row. Keeps the progress bar (inputs done and the
    time left, samples per second, errors) and the counts of the
    :class:`sampler._campaign.RunSummary`. The samples of an ok row are those it drew,
    ``n0 + n`` of the row (for a sequential rule ``n`` is where it stopped, not
    ``n_max``); an error row adds none. A packing backend
    sets :attr:`packing` to its :class:`sampler._packing.PackingStats` (updated in place),
    and the bar then shows the batch fill (``fill=0.97``: copies per model call over
    ``batch_size``).

    Use as a context manager: ``with Writer(out, total, progress) as w: w.write(row)``.
    """

    def __init__(self, out: pathlib.Path, total: int, progress: bool | None):
        self.out, self.total, self.progress = out, total, progress
        self.ok = self.errors = self.samples = 0
        self.written: set[str] = set()
        self.packing: PackingStats | None = None

    def __enter__(self) -> Writer:
        self._bar = _progress_bar(self.total, self.progress)
        self._start = time.perf_counter()
        try:
            self._f = open(self.out, "a", encoding="utf-8")
        except BaseException:
            self._bar.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._f.close()
        finally:
            self._bar.close()

    def write(self, row: dict[str, Any]) -> bool:
        """Write ``row`` (stamping ``timings["finished_at"]``); False if its id was written."""
        if row["id"] in self.written:
            return False
        row["timings"]["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        )
        self._f.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.written.add(row["id"])
        if row["status"] == "ok":
            self.ok += 1
            self.samples += row.get("n0", 0) + row["n"]  # a predict row has no n0
        else:
            self.errors += 1
        self._bar.update(1)
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        postfix = {"samples_per_s": f"{self.samples / elapsed:.1f}", "errors": self.errors}
        if self.packing is not None:
            postfix["fill"] = f"{self.packing.fill:.2f}"
        self._bar.set_postfix(postfix, refresh=False)
        return True
