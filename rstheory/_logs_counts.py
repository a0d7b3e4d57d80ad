"""Counts of a certification log recovered from its printed radii (:mod:`rstheory._logs`).

CERTIFY's radius is ``sigma Phi^-1(cp_lower(k, n, alpha))``, increasing in ``k`` (Cohen,
Rosenfeld & Kolter 2019, Section 3.2): a printed radius rounded to ``r +- h`` fixes ``k`` to
the counts whose bound lies in ``[Phi((r - h) / sigma), Phi((r + h) / sigma)]``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import scipy.special

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._exact import cp_lower_fixed_shape

__all__ = ["CountInterval", "count_interval", "half_width"]

# Significant digits of Cohen et al.'s printed radius (their "{:.3}").
_RADIUS_DIGITS = 3
_BISECT_STEPS = 60
# Up to this n the bounds of every count are tabulated once per (n, alpha) and searched
# (2**20 bounds, 8 MB, take about a second); above, a bisection evaluates 60 per input.
_TABLE_MAX_N = 2**20


class CountInterval(NamedTuple):
    """Result of :func:`count_interval`, int64 / bool arrays ``(m,)``.

    Attributes:
      k: the count whose bound is nearest ``Phi(r / sigma)`` (-1 on abstention).
      low, high: every count consistent with the rounding.
      consistent: whether some count reproduces the printed radius at these ``n`` and
        ``alpha``; False says the run used other settings (``k`` is then the nearest).
    """

    k: np.ndarray
    low: np.ndarray
    high: np.ndarray
    consistent: np.ndarray


def count_interval(radius, *, n, alpha=0.001, sigma, half_width) -> CountInterval:
    """Counts whose bound matches a printed radius ``r +- h`` (module docstring).

    ``low`` / ``high`` are the smallest / largest ``k`` with
    ``Phi((r - h) / sigma) <= cp_lower(k, n, alpha) <= Phi((r + h) / sigma)``; ``k`` is the
    count whose bound is nearest ``Phi(r / sigma)``. ``radius <= 0`` (abstention) gives
    ``k = -1`` and ``[0, k_half]`` with ``k_half`` the largest ``k`` whose bound is ``<= 1/2``.
    Shapes: ``radius`` and ``half_width`` ``(m,)``.

    Example:
      >>> import rstheory
      >>> r = 0.5 * float(scipy.special.ndtri(rstheory.cp_lower(90, 100)))
      >>> [int(v[0]) for v in count_interval([round(r, 3)], n=100, sigma=0.5, half_width=[5e-4])]
      [90, 90, 90, 1]
    """
    r = np.asarray(radius, dtype=np.float64)
    h = np.asarray(half_width, dtype=np.float64)
    cert = r > 0
    lo_p = np.where(cert, scipy.special.ndtr((r - h) / sigma), 0.0)
    below = _largest_at_most(np.where(cert, lo_p, 0.5), n, alpha)
    k_high = _largest_at_most(np.where(cert, scipy.special.ndtr((r + h) / sigma), 0.5), n, alpha)
    k_low = np.where(cert & (_bound(below, n, alpha) < lo_p), below + 1, below)
    consistent = ~cert | (k_low <= k_high)
    k_low = np.where(cert, np.minimum(k_low, k_high), 0)
    target = scipy.special.ndtr(r / sigma)
    centre = _largest_at_most(np.where(cert, target, 0.0), n, alpha)
    up = np.minimum(centre + 1, n)
    d_lo = np.abs(_bound(centre, n, alpha) - target)
    d_up = np.abs(_bound(up, n, alpha) - target)
    k = np.where(d_up < d_lo, up, centre)
    k = np.where(consistent, np.clip(k, k_low, k_high), k)
    return CountInterval(np.where(cert, k, -1), k_low, np.maximum(k_high, k_low), consistent)


@functools.lru_cache(maxsize=8)
def _table(n: int, alpha: float) -> np.ndarray:
    """``cp_lower(k, n, alpha)`` for ``k = 0..n``, float64 ``(n + 1,)``, increasing in ``k``."""
    out = cp_lower_fixed_shape(np.arange(n + 1), float(n), alpha)
    out.setflags(write=False)
    return out


def _bound(k, n: int, alpha: float) -> np.ndarray:
    """``cp_lower(k, n, alpha)`` of integer ``k`` in ``[0, n]``, from the table when small."""
    k = np.asarray(k, dtype=np.int64)
    if n <= _TABLE_MAX_N:
        return _table(int(n), float(alpha))[k]
    return cp_lower_fixed_shape(k, float(n), alpha)


def _largest_at_most(p, n: int, alpha: float) -> np.ndarray:
    """Largest ``k`` in ``[0, n]`` with ``cp_lower(k, n, alpha) <= p``: a search of the table
    of every bound for ``n <= 2**20``, else a vectorized bisection."""
    p = np.asarray(p, dtype=np.float64)
    if n <= _TABLE_MAX_N:
        k = np.searchsorted(_table(int(n), float(alpha)), p, side="right") - 1
        return np.clip(k, 0, int(n)).astype(np.int64)
    lo, hi = np.zeros(p.shape, dtype=np.int64), np.full(p.shape, int(n), dtype=np.int64)
    for _ in range(_BISECT_STEPS):
        if (hi <= lo).all():
            break
        mid = (lo + hi + 1) // 2
        ok = cp_lower_fixed_shape(mid, float(n), alpha) <= p
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid - 1)
    return lo


def half_width(texts: list[str]) -> np.ndarray:
    """Rounding half-width of printed radii (module docstring)."""
    out = np.empty(len(texts))
    for i, t in enumerate(texts):
        t = t.strip().lower()
        mant = t.split("e")[0]
        exp = int(t.split("e")[1]) if "e" in t else 0
        decimals = len(mant.split(".")[1]) if "." in mant else 0
        shown = 0.5 * 10.0 ** (exp - decimals)
        v = abs(float(t))
        sig = 0.5 * 10.0 ** (math.floor(math.log10(v)) - _RADIUS_DIGITS + 1) if v > 0 else shown
        out[i] = min(shown, sig)
    return out
