"""The ``"rows"`` format of :func:`rstheory.analyze.read_log`: ``python -m sampler collect`` rows.

JSONL rows are read by the public readers of :mod:`rstheory.rows`
(:func:`~rstheory.rows.load_counts` selects the ``ok`` rows of one configuration and checks
the schema, :func:`~rstheory.rows.scan_rows` gives their other fields and lines,
:func:`~rstheory.rows.read_settings` their ``sigma`` and ``alpha``); a Parquet copy
(``collect --parquet``) is read with pyarrow and checked row by row with
:func:`~rstheory.rows.check_row`.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from rstheory import rows as _rows

__all__ = ["read_rows_log"]


def _parquet_rows(path: pathlib.Path) -> tuple[list[dict], list[int]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(
            f"{path}: reading Parquet needs pyarrow (pip install 'rsvlm[parquet]'); "
            "or give the JSONL rows"
        ) from None
    table = pq.read_table(path).to_pylist()
    out = []
    for i, row in enumerate(table, start=1):
        row = {
            k: (json.loads(v) if k in ("config", "timings") and isinstance(v, str) else v)
            for k, v in row.items()
        }
        _rows.check_row(row, where=f"{path}: row {i}")
        out.append(row)
    return out, list(range(1, len(out) + 1))


def _one(values: list, name: str, path, lines: list[int]):
    """The single value every selected row holds for ``name`` (None when none holds one)."""
    seen = {}
    for v, line in zip(values, lines, strict=True):
        seen.setdefault(v, line)
    if len(seen) > 1:
        (a, la), (b, lb) = list(seen.items())[:2]
        raise ValueError(
            f"{path}:{lb}: field {name!r}: {b!r} differs from {a!r} (line {la}); "
            f"one run holds one {name}"
        )
    return next(iter(seen), None)


def read_rows_log(path: pathlib.Path, *, config_hash=None) -> dict:
    """Per-input fields of the ``ok`` rows of one configuration (for ``read_log``)."""
    if path.read_bytes()[:4] == b"PAR1":
        chosen, lines = _parquet_rows(path)
        hashes = sorted({str(r.get("config_hash")) for r in chosen})
        if config_hash is None and len(hashes) > 1:
            raise ValueError(
                f"{path} holds rows of {len(hashes)} configurations: pass config_hash="
            )
        keep = [
            i
            for i, r in enumerate(chosen)
            if r.get("status", "ok") == "ok"
            and (config_hash is None or r.get("config_hash") == config_hash)
        ]
        chosen, lines = [chosen[i] for i in keep], [lines[i] for i in keep]
        settings = {}
        for key in ("sigma", "alpha"):
            v = _one(
                [(r.get("config") or {}).get(key) for r in chosen], f"config.{key}", path, lines
            )
            if v is not None:
                settings[key] = float(v)
    else:
        k, _ = _rows.load_counts(path, config_hash=config_hash)  # schema and configuration checks
        scan = _rows.scan_rows(path)
        pairs = [
            (line, r)
            for line, r in zip(scan.line_numbers, scan.rows, strict=True)
            if r.get("status", "ok") == "ok"
            and (config_hash is None or r.get("config_hash") == config_hash)
        ]
        lines, chosen = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(chosen) != k.size:
            raise ValueError(f"{path}: the rows changed while being read")
        settings = _rows.read_settings(path, config_hash=config_hash)
    if not chosen:
        raise ValueError(f"{path}: no successful rows (status 'ok')")
    k = np.array([r["k"] for r in chosen], dtype=np.int64)
    n = _one([int(r["n"]) for r in chosen], "n", path, lines)
    n0 = _one([r.get("n0") for r in chosen], "n0", path, lines)
    radius, abstain, predict, label, time, p_lower = [], [], [], [], [], []
    for r, line in zip(chosen, lines, strict=True):
        for name in ("radius", "abstained", "top_class"):
            if r.get(name) is None:
                raise ValueError(f"{path}:{line}: field {name!r}: missing in a successful row")
        rad = r["radius"]
        if isinstance(rad, bool) or not isinstance(rad, (int, float)) or not rad >= 0:
            raise ValueError(f"{path}:{line}: field 'radius': expected a number >= 0, got {rad!r}")
        lab = r.get("label", -1)
        if isinstance(lab, bool) or not isinstance(lab, int):
            raise ValueError(f"{path}:{line}: field 'label': expected an integer, got {lab!r}")
        top = r["top_class"]
        radius.append(float(rad))
        abstain.append(bool(r["abstained"]))
        names = r.get("class_names") or []
        cls = top if isinstance(top, int) else (names.index(top) if top in names else 0)
        predict.append(-1 if r["abstained"] else cls)
        label.append(lab)
        timings = r.get("timings") or {}
        time.append(float(timings.get("total", math.nan)))
        p_lower.append(float(r["p_lower"]) if r.get("p_lower") is not None else math.nan)
    abstain_arr, label_arr = np.array(abstain), np.array(label, dtype=np.int64)
    predict_arr = np.array(predict, dtype=np.int64)
    labelled = label_arr >= 0
    correct = ~abstain_arr & np.where(labelled, predict_arr == label_arr, True)
    return dict(
        idx=np.arange(len(chosen), dtype=np.int64),
        label=label_arr,
        predict=predict_arr,
        radius=np.array(radius),
        radius_text=None,
        correct=correct,
        time=np.array(time),
        found={**settings, "n": n, "n0": n0},
        p_lower=np.array(p_lower),
        k=k,
    )
