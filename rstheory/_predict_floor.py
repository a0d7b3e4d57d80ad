r"""A cheap lower bound on PREDICT's exact three-class abstention, to skip ``n`` in a scan.

The exact rate of :func:`rstheory.predict.predict_rates` costs ``O(sqrt(n))`` incomplete-beta
values per ``n`` and class; :func:`abstention_floor` costs ``O(sqrt(n))`` binomial masses per
``n`` and one incomplete-beta value per count, shared by every ``n``. It never exceeds the
exact rate, so :func:`rstheory.predict.n_for_abstention` evaluates the exact rate only where
the floor is not already above the target.

**The rule.** Cohen, Rosenfeld & Kolter (2019), Sec. 3.2, Algorithm PREDICT, as
:mod:`rstheory._predict_rates` evaluates it: class ``X`` is returned iff its count
``t_X >= k*(t_X + s)``, ``s`` the largest other count and ``k*(m)`` the critical value of
the two-sided test at ``m`` (``m + 1`` when none passes). ``k*`` is nondecreasing:
``Bin(m + 1, 1/2)`` is ``Bin(m, 1/2)`` plus a Bernoulli, so ``P[Bin(m + 1, 1/2) >= k] >=
P[Bin(m, 1/2) >= k]`` and a ``k`` passing at ``m + 1`` passes at ``m`` (the table is checked
to be nondecreasing; where it is not the floor is 0).

**The bound.** Let ``Y`` be the more likely of ``B`` and the rest ``C`` (``B`` on a tie),
``Z`` the other, and ``M = n_A + n_Y``. As ``k*`` is nondecreasing and ``s`` is at least
each other count,

* return ``A`` implies ``n_A >= k*(M)`` (its ``s >= n_Y``);
* return ``Y`` implies ``n_Y >= k*(M)`` (its ``s >= n_A``);
* return ``Z`` implies ``n_Z >= k*(n_Z + n_A)`` (its ``s >= n_A``).

So the event ``E = {n_A < k*(M), n_Y < k*(M)}`` (the two-class test of ``A`` against ``Y``
fails both ways) lies in the union of ``{abstain}`` and ``{return Z}``, and

.. math::

   P[\text{abstain}] \ge P[E] - P[n_Z \ge k^*(n_Z + n_A)].

Given ``n_Z = z`` the count ``M = n - z`` splits as ``n_A ~ Bin(M, q)``,
``q = p_A / (p_A + p_Y)``; given ``n_Y = y`` the count ``n - y`` splits as
``n_Z ~ Bin(n - y, q')``, ``q' = p_Z / (p_Z + p_A)``. With the per-count tables

.. math::

   f(M) = P[M - k^*(M) < \mathrm{Bin}(M, q) < k^*(M)], \qquad
   g(M) = P[\mathrm{Bin}(M, q') \ge k^*(M)],

.. math::

   P[E] = \sum_z \mathrm{Bin}(z; n, p_Z)\, f(n - z) \ge \sum_{z \in W_Z} \cdots, \qquad
   P[n_Z \ge k^*(n_Z + n_A)] \le \min\Bigl(\sum_{y \in W_Y} \mathrm{Bin}(y; n, p_Y)\,
   g(n - y),\ \max_{W_Y} g\Bigr) + P[n_Y \notin W_Y],

with ``W`` the windows of :mod:`rstheory._predict_rates` (all but ``2e-20`` of the mass):
dropping terms of the first sum lowers it, and the mass outside ``W_Y`` is added back to
the second. When ``p_B`` dominates the rest (the hard cases, ``p_A`` and ``p_B`` close) the
gap to the exact rate is the rare draws where ``C`` beats ``B``, and the floor is tight.

**Rounding.** In exact arithmetic the floor is at most the exact rate that
:mod:`rstheory._predict_rates` computes plus ``2e-20``: it is below the true rate, and the
exact rate's window drops at most ``2e-20`` of ``A``'s mass from ``P[A not returned]`` and
only lowers the other classes' wins. The computed values differ from those by the rounding
of SciPy's binomial masses and tails and of the row sums: the floor is a difference of
two sums, the exact rate of three, each a sum of at most ``n + 1`` nonnegative terms of
total at most 1, so each computed sum is off by at most its terms' relative error plus
``log2(n + 1)`` float64 roundings (pairwise summation). A floor above ``target +``
:data:`SLACK` therefore puts the computed exact rate above ``target`` as long as SciPy's
binomial functions are accurate to about ``1e-10`` relative: that is assumed, not proved
(the tests see at most ``2e-15`` between floor and exact rate where they meet).
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from rstheory._predict_rates import _BLOCK, _share, _window, class_probabilities

__all__ = ["SLACK", "abstention_floor"]

# A floor above target + SLACK proves the computed exact rate above target (docstring).
SLACK = 1e-9
# Below this the subtracted term is taken from its table maximum alone (its sum is skipped).
_NEGLIGIBLE = 1e-12


def _mix(ns: np.ndarray, p: float, table: np.ndarray, m0: int):
    """``(sum_{j in W} Bin(j; n, p) table[n - j - m0], P[Bin(n, p) not in W])`` per ``n``."""
    lo, hi = _window(ns, p)
    width = int((hi - lo).max()) + 1
    rows = max(1, _BLOCK // width)
    total = np.empty(ns.shape)
    j = np.arange(width)
    for start in range(0, ns.size, rows):
        sl = slice(start, start + rows)
        n = ns[sl, None]
        x = np.minimum(lo[sl, None] + j, n)
        pmf = np.where(lo[sl, None] + j <= hi[sl, None], scipy.stats.binom.pmf(x, n, p), 0.0)
        total[sl] = np.sum(pmf * table[n - x - m0], axis=1)
    return total, _outside(ns, p)


def _outside(ns: np.ndarray, p: float) -> np.ndarray:
    """``P[Bin(n, p)`` outside its window ``]`` per ``n``."""
    lo, hi = _window(ns, p)
    return scipy.stats.binom.cdf(lo - 1, ns, p) + scipy.stats.binom.sf(hi, ns, p)


def _range(ns: np.ndarray, p: float) -> tuple[int, np.ndarray]:
    """``(m0, M)``: every ``n - j`` with ``j`` in the window of ``Bin(n, p)``, ``n`` in ``ns``."""
    _, hi = _window(ns, p)
    m0 = int((ns - hi).min())
    return m0, np.arange(m0, int(ns.max()) + 1, dtype=np.int64)


def abstention_floor(p_a: float, p_b: float, ns: np.ndarray, k_star: np.ndarray) -> np.ndarray:
    """A lower bound on ``predict_rates(p_a, p_b, n).abstain`` at each ``n`` (module docstring).

    ``ns``: 1-D int64 sample sizes; ``k_star``: :func:`rstheory._predict_rates.critical_values`'
    ``k*`` at the level, holding ``m = 0 .. ns.max()``. Returns float64 ``(len(ns),)`` in
    ``[0, 1]``.

    Example:
      >>> import numpy as np
      >>> from rstheory._predict_rates import critical_values, predict_rates
      >>> ns = np.arange(100, 2001, 100)
      >>> k_star, _ = critical_values(0.001, int(ns.max()))
      >>> floor = abstention_floor(0.52, 0.46, ns, k_star)
      >>> exact = predict_rates(0.52, 0.46, ns, alpha=0.001).abstain
      >>> bool((floor <= exact + 1e-12).all()), bool((exact - floor).max() < 1e-6)
      (True, True)
    """
    if ns.size == 0 or (np.diff(k_star[: int(ns.max()) + 1]) < 0).any():
        return np.zeros(ns.shape)
    p_a, p_b, p_c = class_probabilities(p_a, p_b)
    p_y, p_z = (p_b, p_c) if p_b >= p_c else (p_c, p_b)
    # P[E], summed over n_Z
    m0, m = _range(ns, p_z)
    k = k_star[m]
    q = _share(p_a, p_y)
    f = scipy.stats.binom.cdf(k - 1, m, q) - scipy.stats.binom.cdf(m - k, m, q)
    event, _ = _mix(ns, p_z, np.clip(f, 0.0, 1.0), m0)
    # P[n_Z >= k*(n_Z + n_A)], summed over n_Y
    m0, m = _range(ns, p_y)
    g = np.clip(scipy.stats.binom.sf(k_star[m] - 1, m, _share(p_z, p_a)), 0.0, 1.0)
    passes = float(g.max()) + _outside(ns, p_y)
    if passes.max() > _NEGLIGIBLE:
        total, outside = _mix(ns, p_y, g, m0)
        passes = np.minimum(passes, total + outside)
    return np.clip(event - passes, 0.0, 1.0)
