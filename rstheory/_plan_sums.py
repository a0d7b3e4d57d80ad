r"""The windowed binomial sums of the exact expectations, in NumPy and SciPy only.

For quadrature nodes ``p_i`` with weights ``w_i`` of Pr(p_A) and a sample size ``n``,

.. math::
    \mathbb E[R_n] = \sum_i w_i \sum_{k \in W_i} \binom{n}{k} p_i^k (1 - p_i)^{n-k} R(k),
    \qquad
    \mathrm{acc}_n(r) = \sum_i w_i\, \Pr[\mathrm{Bin}(n, p_i) \ge k_r],

with the window ``W_i = n p_i +- (10 sd + 40)`` (Bernstein's inequality puts less than
``2 exp(-50)`` of the binomial mass outside; Boucheron, Lugosi & Massart 2013, section
2.8) and ``k_r`` the first count whose radius reaches ``r`` (the radius is
non-decreasing in ``k``). The helpers here (windows, the union of the windows that one
table serves, the per-node sums, the thresholds) are those of :mod:`rstheory._exact`,
which imports them; :func:`radius_accuracy` runs them on the tables of
:mod:`rstheory._plan_cp`, so ``rstheory plan`` computes the exact curves without JAX.

Example:
  >>> import numpy as np
  >>> from rstheory._plan_sums import radius_accuracy
  >>> out = radius_accuracy((np.array([0.9]), np.array([1.0])), np.array([100]),
  ...                       alpha=0.001, sigma=1.0, radii=np.array([0.0]))
  >>> round(float(out.radius[0]), 4), round(float(out.accuracy[0, 0]), 4)
  (0.7671, 1.0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rstheory._validation import check_probability

try:  # the kernels behind scipy.stats.binom, without importing scipy.stats (0.4 s)
    from scipy.special._ufuncs import _binom_pmf, _binom_sf
except ImportError:  # pragma: no cover - other SciPy layouts
    from scipy.stats import binom as _binom

    _binom_pmf, _binom_sf = _binom.pmf, _binom.sf

__all__ = ["RadiusAccuracy", "binom_sf", "dist_quadrature", "radius_accuracy"]

# Half-width of the summation window, in standard deviations and in counts. With
# t = 10 sd + 40, Bernstein's bound 2 exp(-t^2 / (2 (sd^2 + t / 3))) is below 2 exp(-50)
# for every sd >= 0 (the extra 40 counts cover the skewed, Poisson-like tails when n p or
# n (1 - p) is small).
_WINDOW_SD = 10.0
_WINDOW_ABS = 40.0
# Largest number of pmf entries evaluated at once (memory of the 2-D blocks: 16 MiB each).
_BLOCK = 1 << 21
# Tolerance on sum(weights) == 1 for a distribution's quadrature.
_WEIGHT_SUM_TOL = 1e-9


def dist_quadrature(dist, name: str = "dist") -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``dist.quadrature()``, validated; zero-weight nodes dropped."""
    if not callable(getattr(dist, "quadrature", None)):
        raise ValueError(f"{name} must have a quadrature() method, got {type(dist).__name__}")
    nodes, weights = dist.quadrature()
    nodes = np.asarray(nodes, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if nodes.ndim != 1 or weights.shape != nodes.shape or nodes.size == 0:
        raise ValueError(
            f"{name}.quadrature() must return two non-empty 1-D arrays of equal length, got shapes "
            f"{nodes.shape} and {weights.shape}"
        )
    check_probability(nodes, name=f"{name}.quadrature() nodes")
    if np.isnan(weights).any() or (weights < 0).any():
        raise ValueError(f"{name}.quadrature() weights must be >= 0")
    if abs(weights.sum() - 1.0) > _WEIGHT_SUM_TOL:
        raise ValueError(f"{name}.quadrature() weights must sum to 1, got {weights.sum()!r}")
    keep = weights > 0
    return nodes[keep], weights[keep]


def binom_sf(k, n: int, p) -> np.ndarray:
    """``Pr[Bin(n, p) > k]`` (``scipy.stats.binom.sf``), 1 for ``k < 0`` and 0 for ``k >= n``."""
    k = np.asarray(k, dtype=np.float64)
    inner = _binom_sf(np.clip(k, 0.0, n), n, p)
    return np.where(k < 0, 1.0, np.where(k >= n, 0.0, inner))


def _window(p: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer bounds ``[lo, hi]`` of the non-negligible part of ``Bin(n, p)``, per node."""
    mean = n * p
    half = _WINDOW_SD * np.sqrt(n * p * (1.0 - p)) + _WINDOW_ABS
    lo = np.clip(np.floor(mean - half), 0, n).astype(np.int64)
    hi = np.clip(np.ceil(mean + half), 0, n).astype(np.int64)
    # Exact atoms: Bin(n, 0) and Bin(n, 1) are point masses.
    lo = np.where(p == 1.0, n, lo)
    hi = np.where(p == 0.0, 0, hi)
    return lo, hi


def _union_counts(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sorted unique integers of the union of the closed intervals ``[lo_i, hi_i]``."""
    order = np.argsort(lo)
    pieces = []
    cur_lo, cur_hi = int(lo[order[0]]), int(hi[order[0]])
    for i in order[1:]:
        a, b = int(lo[i]), int(hi[i])
        if a > cur_hi + 1:
            pieces.append(np.arange(cur_lo, cur_hi + 1))
            cur_lo, cur_hi = a, b
        else:
            cur_hi = max(cur_hi, b)
    pieces.append(np.arange(cur_lo, cur_hi + 1))
    return np.concatenate(pieces)


def _thresholds_counts(
    k_tab: np.ndarray, r_tab: np.ndarray, radii: np.ndarray, n: int
) -> np.ndarray:
    """First table count ``k`` whose radius is ``>= radii[i]`` (``n + 1`` when none is).

    ``r_tab`` is non-decreasing along the sorted ``k_tab``; counts outside the table lie
    outside every window, where the binomial mass is negligible.
    """
    pos = np.searchsorted(r_tab, radii, side="left")
    return np.where(pos < k_tab.size, k_tab[np.minimum(pos, k_tab.size - 1)], n + 1)


def _node_sums(nodes, lo, hi, n, k_tab, p_tab, r_tab):
    """Per node, over its window: ``sum_k pmf(k) R(k)``, ``sum_k pmf(k) R(k)^2`` and
    ``sum_k pmf(k) p_lower(k)`` (``None`` when ``p_tab`` is); arrays of the shape of
    ``nodes``."""
    width = int((hi - lo).max()) + 1
    offsets = np.arange(width)
    rows = max(1, _BLOCK // width)
    radius, radius_sq = np.empty(nodes.size), np.empty(nodes.size)
    p_lower = None if p_tab is None else np.empty(nodes.size)
    for s in range(0, nodes.size, rows):
        sl = slice(s, s + rows)
        k = lo[sl, None] + offsets
        inside = k <= hi[sl, None]
        k = np.minimum(k, hi[sl, None])
        pmf = np.where(inside, _binom_pmf(k, n, nodes[sl, None]), 0.0)
        idx = np.searchsorted(k_tab, k)
        r = r_tab[idx]
        radius[sl] = np.einsum("ij,ij->i", pmf, r)
        radius_sq[sl] = np.einsum("ij,ij,ij->i", pmf, r, r)
        if p_tab is not None:
            p_lower[sl] = np.einsum("ij,ij->i", pmf, p_tab[idx])
    return radius, radius_sq, p_lower


class RadiusAccuracy(NamedTuple):
    """Result of :func:`radius_accuracy`.

    Attributes:
      radius: exact expected radius ``E[R_n]``, float64 ``(m,)`` (one per ``n``).
      accuracy: exact certified accuracy ``acc_n(r)``, float64 ``(m, r)``.
    """

    radius: np.ndarray
    accuracy: np.ndarray


def radius_accuracy(
    quadrature: tuple[np.ndarray, np.ndarray],
    ns: np.ndarray,
    *,
    alpha: float,
    sigma: float,
    radii: np.ndarray,
) -> RadiusAccuracy:
    """Exact ``E[R_n]`` and ``acc_n(r)`` of one distribution for every ``n`` of ``ns``.

    Args:
      quadrature: ``(nodes, weights)`` of :func:`dist_quadrature` (validated), 1-D float64.
      ns: sample sizes ``>= 1``, int64 ``(m,)`` (validated by the caller).
      alpha, sigma: scalars in ``(0, 1)`` and ``> 0`` (validated by the caller).
      radii: thresholds ``>= 0``, float64 ``(r,)``; ``0`` means certified (``R > 0``).

    Returns:
      :class:`RadiusAccuracy`; the same numbers as :func:`rstheory._exact.exact_sums`.
    """
    from rstheory._plan_cp import radius_table

    nodes, weights = quadrature
    thresholds = np.maximum(radii, np.finfo(np.float64).tiny)
    radius, accuracy = np.zeros(ns.size), np.zeros((ns.size, radii.size))
    for j, n in enumerate(ns.tolist()):
        lo, hi = _window(nodes, n)
        k_tab = _union_counts(lo, hi)
        r_tab = radius_table(k_tab, n, alpha=alpha, sigma=sigma)
        radius[j] = weights @ _node_sums(nodes, lo, hi, n, k_tab, None, r_tab)[0]
        k_acc = _thresholds_counts(k_tab, r_tab, thresholds, n)
        accuracy[j] = weights @ binom_sf(k_acc[None, :] - 1, n, nodes[:, None])
    return RadiusAccuracy(radius, accuracy)
