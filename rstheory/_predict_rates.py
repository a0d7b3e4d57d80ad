r"""How often PREDICT abstains or errs: exact rates at ``n`` and an upper bound from ``p_A``.

Cohen, Rosenfeld & Kolter (2019), Sec. 3.2, Algorithm PREDICT: draw ``n`` noisy samples,
take the observed top count ``t`` and second-largest count ``s``, return the top class when
the two-sided binomial test of ``t`` against ``Bin(t + s, 1/2)`` has p-value ``<= alpha``
(:func:`rstheory.predict.decide`), otherwise abstain.

**Critical values.** With ``k*(m)`` the smallest ``k`` whose p-value ``p(k, m - k)`` is
``<= alpha`` (``m + 1`` when none is), the top class is returned iff ``t >= k*(t + s)``.
``P[Bin(m, 1/2) >= k]`` grows with ``m``, so the p-value ``p(t, s)`` grows with ``s``
and the rule reads ``s <= s*(t) = max{s : k*(t + s) <= t}`` (``-1`` when even ``s = 0``
fails): a count ``t`` wins when *every* other count is at most ``s*(t)``. A tie at the
top has p-value 1, so it always abstains and the returned class is never ambiguous.
``k*`` is found by bisection on the project's own p-value, so these rates and
:func:`~rstheory.predict.decide` agree count for count.

**Three classes (exact).** Classes ``A``, ``B`` and the rest ``C`` taken as *one* class,
with probabilities ``p_A, p_B, p_C = 1 - p_A - p_B``; the counts are
``(n_A, n_B, n_C) ~ Multinomial(n; p_A, p_B, p_C)``. Given ``n_A = a`` the other two
split ``r = n - a`` as ``n_B ~ Bin(r, p_B / (p_B + p_C))``, and ``A`` is returned iff
``r - s*(a) <= n_B <= s*(a)``, so

.. math::

   P[\text{return } A] = \sum_a \mathrm{Bin}(a; n, p_A)\,
   P\bigl[r - s^*(a) \le \mathrm{Bin}(r, \tfrac{p_B}{p_B + p_C}) \le s^*(a)\bigr],

and likewise for ``B`` and ``C``; abstention is the rest. Each class costs ``O(n)``
binomial terms (only the ``a`` whose binomial mass is above ``1e-20`` on either side
are summed, ``O(sqrt(n))`` of them: the absolute error is below ``1e-19``), so ``n`` of
``1e5`` and more are cheap; the table of ``k*`` costs ``O(n)`` incomplete-beta values
once per ``alpha``. This is exact for three classes; with the rest *split* over
several classes it is a bound: every class count of the rest is at most ``n_C``, so
``A`` and ``B`` win at least as often as with the rest merged, and

.. math::

   P_{\text{split}}[\text{abstain}] \le 1 - P[\text{return } A] - P[\text{return } B]
   = \texttt{abstain} + \texttt{wrong\_rest}.

**Only p_A known (a bound).** Whatever the other classes, the second count is at most
``n - n_A``, so ``p(n_A, s) <= p(n_A, n - n_A)`` and ``A`` is returned whenever the
*two-class* test wins, ``n_A >= k*(n)``. Hence, for every distribution of the remaining
``1 - p_A`` over any number of classes,

.. math::

   P[\text{abstain}] \le P[\text{abstain}] + P[\text{wrong}]
   = 1 - P[\text{return } A] \le P[\mathrm{Bin}(n, p_A) < k^*(n)],

the probability that the two-class case (``p_B = 1 - p_A``) does not return ``A``: its
abstention plus its error rate (the latter ``<= alpha`` when ``p_A > 1/2``, Cohen et al.
2019, Sec. 3.2, Proposition 1). It is one binomial tail, ``O(1)`` per ``(p_A, n)``.

The two-class *abstention alone* is not a bound: at ``n = 12``, ``alpha = 0.05``,
``p_A = 1/2`` the three classes ``(1/2, 1/4, 1/4)`` abstain about 0.019 more often than
``(1/2, 1/2)``: with the runner-up's mass split, draws in which ``B`` would have won
become abstentions. The bound above counts the two-class errors too, and holds.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import scipy.special
import scipy.stats

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._predict import _p_value
from rstheory._validation import (
    check_alpha,
    check_broadcast,
    check_integers,
    check_probability,
    check_top_two,
)

__all__ = ["N_MAX", "PredictRates", "abstention_bound", "check_n", "predict_rates"]

# Binomial mass left out on each side of the summed window of the top count.
_TAIL = 1e-20
# Cells of one (n, count) block evaluated at once.
_BLOCK = 2**22
# Half-width of the first bracket of k* around its normal approximation.
_GUESS_HALF_WIDTH = 4
# The largest n taken: the critical-value table holds one int64 per count up to n.
N_MAX = 10**7
# Probabilities below this are taken as 0.
_TINY = 1e-200


class PredictRates(NamedTuple):
    """Exact PREDICT rates of :func:`predict_rates` (float64 numpy, the broadcast shape).

    Attributes:
      abstain: ``P[abstain]``.
      correct: ``P[return A]`` (the class of probability ``p_a``).
      wrong: ``P[return a class other than A]``; ``abstain + correct + wrong = 1``.
      wrong_rest: the part of ``wrong`` where the rest class ``C`` is returned;
        ``abstain + wrong_rest`` bounds the abstention when the rest is split over
        several classes (module docstring).
    """

    abstain: np.ndarray
    correct: np.ndarray
    wrong: np.ndarray
    wrong_rest: np.ndarray


# --------------------------------------------------------------------------- thresholds


def check_n(n, *, name: str = "n") -> np.ndarray:
    """Sample sizes: integers in ``[1, N_MAX]``, as an int64 numpy array."""
    ns = check_integers(n, name=name, low=1)
    if (ns > N_MAX).any():
        raise ValueError(
            f"{name} must be an integer in [1, {N_MAX}], got {int(ns[ns > N_MAX].ravel()[0])}"
        )
    return ns.astype(np.int64)


def _p_scipy(k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The p-value of :func:`rstheory.predict.p_value` by SciPy (``k >= m - k``, ``k >= 1``)."""
    return np.minimum(1.0, 2.0 * scipy.special.betainc(k, m - k + 1.0, 0.5))


@functools.lru_cache(maxsize=8)
def _critical(alpha: float, size: int) -> np.ndarray:
    """``k*(m)`` for ``m = 0 .. size - 1`` (``m + 1`` where no ``k <= m`` passes), int64.

    Bisection on ``k`` in ``(ceil(m/2), m + 1]``: ``p(k, m - k)`` falls as ``k`` grows and
    is 1 at ``k = ceil(m / 2)``. SciPy's incomplete beta drives it; where a p-value lies
    within ``1e-9`` (relative) of ``alpha`` the decision is taken from the project's own
    JAX p-value, so the table and :func:`rstheory.predict.decide` agree exactly.
    """
    m = np.arange(size, dtype=np.int64)
    floor, top = (m + 1) // 2, m + 1  # p = 1 at floor (fails); top passes by convention
    # A normal-approximation guess brackets k* in a few steps; where it does not, the
    # full bracket (floor, top] is used.
    z = scipy.special.ndtri(1.0 - alpha / 2.0)
    guess = np.round(m / 2.0 + 0.5 * z * np.sqrt(m) + 0.5).astype(np.int64)
    lo = np.clip(guess - _GUESS_HALF_WIDTH, floor, top)
    hi = np.clip(guess + _GUESS_HALF_WIDTH, floor, top)
    for arr, must_pass, fallback in ((lo, False, floor), (hi, True, top)):
        check = (arr > floor) & (arr < top)
        ok = np.zeros(size, dtype=bool)
        ok[check] = _p_scipy(arr[check].astype(np.float64), m[check].astype(np.float64)) <= alpha
        wrong = check & (ok != must_pass)
        arr[wrong] = fallback[wrong]
    while True:
        todo = np.flatnonzero(hi - lo > 1)
        if todo.size == 0:
            return hi
        mid = (lo[todo] + hi[todo]) // 2
        mt = m[todo]
        p = _p_scipy(mid.astype(np.float64), mt.astype(np.float64))
        near = np.abs(p - alpha) <= 1e-9 * alpha
        if near.any():
            p[near] = np.asarray(
                _p_value(
                    jnp.asarray(mid[near], jnp.float64),
                    jnp.asarray(mt[near] - mid[near], jnp.float64),
                )
            )
        ok = p <= alpha
        hi[todo[ok]] = mid[ok]
        lo[todo[~ok]] = mid[~ok]


def _size(n_max: int) -> int:
    """A power of two above ``n_max`` (few table sizes to cache)."""
    return 1 << max(6, int(n_max + 1).bit_length())


def critical_values(alpha: float, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``(k*(m) for m = 0..n_max, s*(t) for t = 0..n_max)``, int64 (module docstring).

    ``s*(t)`` is cut at ``n_max - t`` where it is larger (the table holds ``k*`` up to
    ``n_max`` only): no count of ``n <= n_max`` samples can tell the two apart.
    """
    k = _critical(float(alpha), _size(n_max))
    t = np.arange(n_max + 1)
    s = np.searchsorted(k, t, side="right") - 1 - t
    return k[: n_max + 1], np.maximum(s, -1)


# --------------------------------------------------------------------------- exact part


def _window(ns: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``[lo, hi]`` holding all but ``2 * _TAIL`` of ``Bin(n, p)``, per ``n``."""
    lo = scipy.stats.binom.ppf(_TAIL, ns, p)
    hi = ns - scipy.stats.binom.ppf(_TAIL, ns, 1.0 - p)
    lo = np.clip(np.nan_to_num(lo, nan=0.0), 0, ns).astype(np.int64)
    hi = np.clip(np.nan_to_num(hi, nan=ns), lo, ns).astype(np.int64)
    return lo, hi


def window_width(ns: np.ndarray, p_x: float) -> int:
    """The columns :func:`class_wins` sums per ``n`` of ``ns``: the widest window, plus 1."""
    lo, hi = _window(ns, p_x)
    return int((hi - lo).max()) + 1


def class_wins(p_x: float, q: float, ns: np.ndarray, s_star: np.ndarray, *, width=None):
    """``(P[X returned], P[X not returned])`` for each ``n`` in ``ns`` (1-D int64).

    ``X`` has probability ``p_x``; the other two classes split the remaining count with
    probabilities ``q`` and ``1 - q`` (``s_star`` is :func:`critical_values`' ``s*``).
    Each ``n`` is a row of ``width`` columns (default :func:`window_width` of ``ns``; at
    least that), the cells past its window zero. A row's sum depends on its width only
    (pairwise summation), so a wider ``width`` (that of a larger set of ``n``)
    reproduces that set's values bit for bit.
    """
    lo, hi = _window(ns, p_x)
    least = int((hi - lo).max()) + 1
    width = least if width is None else int(width)
    if width < least:
        raise ValueError(f"width must be at least {least} for these n, got {width}")
    rows = max(1, _BLOCK // width)
    win = np.empty(ns.shape)
    lose = np.empty(ns.shape)
    j = np.arange(width)
    for start in range(0, ns.size, rows):
        sl = slice(start, start + rows)
        n = ns[sl, None]
        x = lo[sl, None] + j
        inside = x <= hi[sl, None]
        x = np.minimum(x, n)
        r = n - x
        s = s_star[x]
        ok = inside & (s >= 0) & (r - s <= s)
        pmf = np.where(inside, scipy.stats.binom.pmf(x, n, p_x), 0.0)
        w = scipy.stats.binom.cdf(s, r, q) - scipy.stats.binom.cdf(r - s - 1, r, q)
        not_w = scipy.stats.binom.sf(s, r, q) + scipy.stats.binom.cdf(r - s - 1, r, q)
        win[sl] = np.sum(np.where(ok, pmf * w, 0.0), axis=1)
        lose[sl] = np.sum(np.where(ok, pmf * not_w, pmf), axis=1)
    return win, lose


def _tidy(p):
    """``p`` with values below ``_TINY`` set to 0 (SciPy's binomial overflows on subnormal
    ``p``; the rates move by at most ``n * _TINY``)."""
    return np.where(np.asarray(p) < _TINY, 0.0, p)


def _share(x: float, y: float) -> float:
    return float(_tidy(x / (x + y))) if x + y > 0 else 0.5


def class_probabilities(p_a: float, p_b: float) -> tuple[float, float, float]:
    """``(p_A, p_B, p_C)`` as :func:`rates_at` takes them (tiny values set to 0)."""
    p_a, p_b = float(_tidy(p_a)), float(_tidy(p_b))
    return p_a, p_b, float(_tidy(max(0.0, 1.0 - p_a - p_b)))


def rate_widths(p_a: float, p_b: float, ns: np.ndarray) -> tuple[int, int, int]:
    """The ``width`` of each class's :func:`class_wins` in ``rates_at(p_a, p_b, ns, ...)``."""
    return tuple(window_width(ns, p) for p in class_probabilities(p_a, p_b))


def rates_at(p_a: float, p_b: float, ns: np.ndarray, s_star: np.ndarray, *, widths=None):
    """Exact ``(abstain, correct, wrong, wrong_rest)`` arrays over ``ns`` for one pair.

    ``widths``: :func:`rate_widths` of a superset of ``ns`` to get its values bit for bit
    (default: those of ``ns``).
    """
    p_a, p_b, p_c = class_probabilities(p_a, p_b)
    w_a, w_b, w_c = (None, None, None) if widths is None else widths
    win_a, lose_a = class_wins(p_a, _share(p_b, p_c), ns, s_star, width=w_a)
    win_b, _ = class_wins(p_b, _share(p_a, p_c), ns, s_star, width=w_b)
    win_c, _ = class_wins(p_c, _share(p_a, p_b), ns, s_star, width=w_c)
    abstain = np.clip(lose_a - win_b - win_c, 0.0, 1.0)
    return abstain, win_a, win_b + win_c, win_c


def predict_rates(p_a, p_b, n, *, alpha=0.001) -> PredictRates:
    """Exact abstention and error rates of PREDICT with ``n`` samples, three classes.

    Class ``A`` has probability ``p_a``, ``B`` has ``p_b <= p_a`` and the rest
    ``1 - p_a - p_b`` is one class ``C``; the counts are multinomial and the rule is
    :func:`rstheory.predict.decide` on the observed top two counts (module docstring for
    the sum and its ``O(n)`` cost). ``p_a``, ``p_b`` and ``n`` broadcast together.

    Args:
      p_a: probability of class ``A``, in [0, 1].
      p_b: probability of class ``B``, in [0, ``p_a``], ``p_a + p_b <= 1``.
      n: number of samples, integers in ``[1, 10**7]``.
      alpha: level of the test, in (0, 1).

    Returns:
      :class:`PredictRates`; exact for three classes. With the rest split over more
      classes ``abstain + wrong_rest`` is an upper bound on the abstention.

    Example:
      >>> r = predict_rates(0.8, 0.2, 100, alpha=0.001)
      >>> round(float(r.abstain), 4), float(r.wrong) < 1e-12
      (0.0007, True)
    """
    check_alpha(alpha)
    a, b = check_top_two(p_a, p_b)
    ns = check_n(n)
    shape = check_broadcast(p_a=a, p_b=b, n=ns)
    a, b, ns = (np.broadcast_to(v, shape).ravel() for v in (a, b, ns))
    ns = ns.astype(np.int64)
    out = np.empty((4, ns.size))
    if ns.size:
        _, s_star = critical_values(alpha, int(ns.max()))
        pairs, inverse = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)
        for i, (pa, pb) in enumerate(pairs):
            at = inverse.ravel() == i
            out[:, at] = np.stack(rates_at(float(pa), float(pb), ns[at], s_star))
    return PredictRates(*(v.reshape(shape) for v in out))


# --------------------------------------------------------------------------- bound


def bound_at(p: np.ndarray, ns: np.ndarray, k_star: np.ndarray) -> np.ndarray:
    """``P[Bin(n, p) < k*(n)]``, broadcasting ``p`` with ``ns`` (``k_star`` indexed by n)."""
    return scipy.stats.binom.cdf(k_star[ns] - 1, ns, _tidy(p))


def abstention_bound(p_a, n, *, alpha=0.001) -> np.ndarray:
    """An upper bound on PREDICT's abstention from the top-class probability alone.

    ``P[Bin(n, p_a) < k*(n)]``: the probability that the two-class case
    (``p_b = 1 - p_a``) does *not* return the top class, its abstention plus its error.
    It bounds ``P[abstain]`` (indeed ``P[abstain] + P[wrong]``) for *every* way the
    other ``1 - p_a`` is spread over classes (proof in the module docstring).

    Args:
      p_a: the top-class probability, in [0, 1]; broadcasts with ``n``.
      n: number of samples, integers in ``[1, 10**7]``.
      alpha: level of the test, in (0, 1).

    Returns:
      float64 numpy array of the broadcast shape.

    Example:
      >>> b = abstention_bound(0.8, 100, alpha=0.001)
      >>> exact = predict_rates(0.8, 0.1, 100, alpha=0.001).abstain
      >>> bool(exact <= b), round(float(b), 4)
      (True, 0.0007)
    """
    check_alpha(alpha)
    check_probability(p_a, name="p_a")
    ns = check_n(n)
    p = np.asarray(p_a, dtype=np.float64)
    shape = check_broadcast(p_a=p, n=ns)
    ns = np.broadcast_to(ns, shape).astype(np.int64)
    if ns.size == 0:
        return np.zeros(shape)
    k_star, _ = critical_values(alpha, int(ns.max()))
    return np.asarray(bound_at(p, ns, k_star), dtype=np.float64).reshape(shape)
