r"""Published randomized-smoothing certifications, read as they were published.

The one module of :mod:`rstheory` that reads files: per-input certification results
that other people measured (the ECAI 2024 "100x sample efficiency" paper's CIFAR-10
and ImageNet runs, and Cohen et al.'s n = 100,000 ImageNet output), so that the exact
expectations of :mod:`rstheory.scaling` can be tested against measurement
(:mod:`rstheory._published_check`).

File layout (one CSV per dataset and sample size, 500 inputs each)::

    <dataset>_<model>_sigma<SIGMA>_alpha<ALPHA>_n<N>.csv
    columns: index, y_real, y_pred (-1 = abstained), radius, pA (one-sided
             Clopper-Pearson lower bound of the top class), time (seconds per input)

Cohen et al.'s file has no ``pA`` or ``time``; there ``pA = Phi(radius / sigma)`` for
certified inputs (radii are published rounded, so its recovered counts are approximate)
and ``nan`` for abstentions.

The folder comes from the ``data_dir`` argument, else the environment variable
``RSVLM_DATA_DIR``, else the ``data/`` folder of the source checkout, which keeps an
unchanged copy of the published files with their provenance (``data/README.md``); the
files sit in its ``p2-certifications/`` sub-folder. An installed package has no such
folder: give ``data_dir`` or set the variable.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.special

from rstheory._deprecation import keyword_only
from rstheory._exact import cp_lower_fixed_shape
from rstheory._validation import check_alpha, check_counts

__all__ = [
    "DATA_ENV",
    "Certifications",
    "PublishedRun",
    "RecoveredCounts",
    "available",
    "data_dir",
    "load",
    "recover_counts",
    "sizes",
]

# Environment variable naming the data folder.
DATA_ENV = "RSVLM_DATA_DIR"
_SUBDIR = "p2-certifications"
_NAME = re.compile(
    r"^(?P<dataset>[a-z0-9]+)_(?P<model>[a-z0-9]+)_sigma(?P<sigma>[0-9.]+)"
    r"_alpha(?P<alpha>[0-9.]+)_n(?P<n>[0-9]+)\.csv$"
)
# Bisection steps of recover_counts: 2**40 > any n a float64 count table can hold.
_BISECT_STEPS = 40


def data_dir(path=None) -> Path:
    """The folder holding ``p2-certifications/``: ``path``, ``$RSVLM_DATA_DIR`` or the checkout's
    ``data/``.

    Existence is not checked (see :func:`available`).

    Example:
      >>> from rstheory import published
      >>> published.data_dir("/some/where")
      PosixPath('/some/where')
    """
    if path is not None:
        return Path(path)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path(__file__).resolve().parents[1] / "data"


class Certifications(NamedTuple):
    """Per-input results of one published certification run (arrays of shape ``(inputs,)``).

    Attributes:
      dataset, model: from the file name (e.g. ``"cifar10"``, ``"resnet110"``).
      sigma, alpha: noise level and significance level of the run.
      n: samples per input.
      index: input index in the test set (int64).
      y_real: true label (int64).
      y_pred: certified class, ``-1`` when the run abstained (int64).
      radius: certified L2 radius in ``[0, 1]``-pixel units, 0 when abstained.
      p_lower: the published one-sided lower bound on the top-class probability
        (recovered as ``Phi(radius / sigma)`` where the file has none; ``nan`` then for
        abstentions).
      seconds: seconds per input on the authors' hardware (``nan`` when not published).
      path: the file read.
    """

    dataset: str
    model: str
    sigma: float
    alpha: float
    n: int
    index: np.ndarray
    y_real: np.ndarray
    y_pred: np.ndarray
    radius: np.ndarray
    p_lower: np.ndarray
    seconds: np.ndarray
    path: Path

    @property
    def correct(self) -> np.ndarray:
        """Boolean mask of inputs certified with the true label."""
        return self.y_pred == self.y_real

    def acr(self) -> float:
        """Average certified radius over all inputs, counting only correct ones (Seferis et al.'s
        (2024) ACR)."""
        return float(np.mean(self.radius * self.correct))


_resolve_dir = data_dir


@keyword_only("data_dir")
def available(*, data_dir=None) -> list[PublishedRun]:
    """``(dataset, n)`` of every published run found, sorted; empty when the folder is absent.

    Example:
      >>> from rstheory import published
      >>> published.available(data_dir="/nonexistent")
      []
    """
    folder = _resolve_dir(data_dir) / _SUBDIR
    if not folder.is_dir():
        return []
    found = []
    for f in folder.iterdir():
        m = _NAME.match(f.name)
        if m:
            found.append(PublishedRun(m["dataset"], int(m["n"])))
    return sorted(found)


def sizes(dataset: str, *, data_dir=None) -> list[int]:
    """The published sample sizes of ``dataset``, sorted.

    Raises:
      FileNotFoundError: when the data folder is absent.
      ValueError: when ``dataset`` has no published run there.
    """
    folder = _resolve_dir(data_dir) / _SUBDIR
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no published certifications at {folder}: pass data_dir= or set ${DATA_ENV}"
        )
    found = available(data_dir=data_dir)
    mine = [n for d, n in found if d == dataset]
    if not mine:
        raise ValueError(
            f"no published run of dataset={dataset!r}; datasets: {sorted({d for d, _ in found})}"
        )
    return mine


def _find(dataset: str, n: int, data_dir) -> tuple[Path, re.Match]:
    folder = _resolve_dir(data_dir) / _SUBDIR
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no published certifications at {folder}: pass data_dir= or set ${DATA_ENV}"
        )
    runs = [(f, m) for f in sorted(folder.iterdir()) if (m := _NAME.match(f.name)) is not None]
    hits = [(f, m) for f, m in runs if m["dataset"] == dataset and int(m["n"]) == n]
    if not hits:
        have = sorted({(m["dataset"], int(m["n"])) for _, m in runs})
        raise ValueError(f"no published run for dataset={dataset!r}, n={n!r}; available: {have}")
    return hits[0]


def load(dataset: str, n: int, *, data_dir=None) -> Certifications:
    """Read the published run of ``dataset`` at ``n`` samples per input.

    Args:
      dataset: file-name prefix, e.g. ``"cifar10"`` or ``"imagenet"``.
      n: samples per input, one of the published sizes (:func:`available`).
      data_dir: the folder holding ``p2-certifications/`` (default: :func:`data_dir`).

    Returns:
      :class:`Certifications`.

    Raises:
      FileNotFoundError: when the folder is absent.
      ValueError: when no file matches, or a file lacks a needed column.
    """
    path, m = _find(dataset, int(n), data_dir)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path} has no rows")
    need = {"index", "y_real", "y_pred", "radius"}
    if not need <= rows[0].keys():
        raise ValueError(f"{path} lacks the columns {sorted(need - rows[0].keys())}")

    def column(name, dtype):
        return np.array([r[name] for r in rows], dtype=np.float64).astype(dtype)

    sigma = float(m["sigma"])
    radius = column("radius", np.float64)
    y_pred = column("y_pred", np.int64)
    if "pA" in rows[0]:
        p_lower = column("pA", np.float64)
    else:
        p_lower = np.where(y_pred >= 0, scipy.special.ndtr(radius / sigma), np.nan)
    seconds = column("time", np.float64) if "time" in rows[0] else np.full(len(rows), np.nan)
    return Certifications(
        dataset=m["dataset"],
        model=m["model"],
        sigma=sigma,
        alpha=float(m["alpha"]),
        n=int(m["n"]),
        index=column("index", np.int64),
        y_real=column("y_real", np.int64),
        y_pred=y_pred,
        radius=radius,
        p_lower=p_lower,
        seconds=seconds,
        path=path,
    )


class RecoveredCounts(NamedTuple):
    """Result of :func:`recover_counts`; unpacks as ``k, mismatch = ...``.

    Attributes:
      k: int64 counts, ``-1`` where the published bound was ``nan``, shape ``(m,)``.
      mismatch: ``|cp_lower(k, n, alpha) - p_lower|``, float64 ``(m,)`` (``nan`` with ``k = -1``).
    """

    k: np.ndarray
    mismatch: np.ndarray


class PublishedRun(NamedTuple):
    """One entry of :func:`available`: a dataset and the sample size of its run."""

    dataset: str
    n: int


def recover_counts(p_lower, n, *, alpha=0.001) -> RecoveredCounts:
    r"""Counts ``k`` whose one-sided Clopper-Pearson bound is nearest to published bounds.

    Inverts :func:`rstheory.cp_lower` in ``k`` (it is increasing in ``k`` for fixed ``n``):
    a vectorized bisection finds the largest ``k`` with ``cp_lower(k, n, alpha) <= p``,
    then the nearer of ``k`` and ``k + 1`` is kept.

    Args:
      p_lower: published lower bounds in ``[0, 1]``, shape ``(m,)``; ``nan`` entries give
        ``k = -1``.
      n: samples per input, integer ``>= 1``.
      alpha: the run's significance level in ``(0, 1)``.

    Returns:
      :class:`RecoveredCounts` ``(k, mismatch)``: int64 counts and
      ``|cp_lower(k, n, alpha) - p_lower|`` (float64),
      both of shape ``(m,)``; a mismatch far above float64 rounding says the bound was not a
      Clopper-Pearson bound at these ``n`` and ``alpha`` (or was published rounded).

    Example:
      >>> import rstheory
      >>> from rstheory import published
      >>> p = rstheory.cp_lower([0, 37, 100], 100, alpha=0.001)
      >>> k, err = published.recover_counts(p, 100, alpha=0.001)
      >>> k.tolist(), bool(err.max() < 1e-15)
      ([0, 37, 100], True)
    """
    check_alpha(alpha)
    check_counts(0, n)
    n = int(n)
    p = np.asarray(p_lower, dtype=np.float64).ravel()
    known = ~np.isnan(p)
    if ((p[known] < 0) | (p[known] > 1)).any():
        raise ValueError("p_lower must lie in [0, 1]")
    lo = np.zeros(p.size, dtype=np.int64)  # cp_lower(0) = 0 <= p always
    hi = np.full(p.size, n, dtype=np.int64)

    def bound(k):
        return cp_lower_fixed_shape(k, float(n), alpha)

    # invariant: bound(lo) <= p; answer in [lo, hi]
    for _ in range(_BISECT_STEPS):
        if (hi - lo <= 0).all():
            break
        mid = (lo + hi + 1) // 2
        ok = bound(mid) <= np.where(known, p, 0.0)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid - 1)
    up = np.minimum(lo + 1, n)
    b_lo, b_up = bound(lo), bound(up)
    k = np.where(np.abs(b_up - p) < np.abs(b_lo - p), up, lo)
    mismatch = np.abs(np.where(k == up, b_up, b_lo) - p)
    return RecoveredCounts(np.where(known, k, -1), np.where(known, mismatch, np.nan))
