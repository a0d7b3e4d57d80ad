"""Binomial tails at mpmath's working precision: the high-precision route that the
proofs_check report, the test reference values (``tests/reference/make_reference.py``) and
the benchmark's accuracy column all use.

Each tail is summed from ``j = k`` *away from the mode*, so the terms decrease from the
start and the sum stops after ``O(sqrt(n p (1 - p)))`` terms, once a term falls below
``10^-(dps + 10)`` of the running sum; when ``k`` lies on the other side of the mode the
tail is formed as one minus the opposite sum, which is then at least about 1/2, so nothing
cancels. This works up to ``n = 1e8``, where ``mpmath.betainc`` no longer converges.
"""

from __future__ import annotations

import mpmath

__all__ = [
    "binomial_tail_ge",
    "binomial_tail_le",
    "cp_root",
    "error_below_one",
    "implied_error",
    "log_pmf",
    "pmf_vector",
]


def log_pmf(j: int, n: int, p):
    """``log P[Bin(n, p) = j]`` at the working precision, ``0 < p < 1``."""
    return (
        mpmath.loggamma(n + 1)
        - mpmath.loggamma(j + 1)
        - mpmath.loggamma(n - j + 1)
        + j * mpmath.log(p)
        + (n - j) * mpmath.log1p(-p)
    )


def pmf_vector(n: int, p):
    """``[P[Bin(n, p) = k] for k = 0..n]`` at the working precision (``p`` of 0 and 1 exact).

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     print([float(v) for v in pmf_vector(2, mpmath.mpf(1) / 2)], pmf_vector(1, 1))
      [0.25, 0.5, 0.25] [mpf('0.0'), mpf('1.0')]
    """
    if p == 1:
        return [mpmath.mpf(0)] * n + [mpmath.mpf(1)]
    if p == 0:
        return [mpmath.mpf(1)] + [mpmath.mpf(0)] * n
    out = [(1 - p) ** n]
    ratio = p / (1 - p)
    for j in range(n):
        out.append(out[-1] * ratio * (n - j) / (j + 1))
    return out


def _eps():
    return mpmath.mpf(10) ** (-(mpmath.mp.dps + 10))


def _sum_up(k: int, n: int, p, pmf_k):
    """sum_{j >= k} pmf(j), for k at or past the mode (terms decrease from the start)."""
    ratio, eps = p / (1 - p), _eps()
    term, total, j = pmf_k, pmf_k, k
    while j < n:
        term = term * ratio * (n - j) / (j + 1)
        j += 1
        total += term
        if term < eps * total:
            break
    return total


def _sum_down(k: int, n: int, p, pmf_k):
    """sum_{j <= k} pmf(j), for k at or below the mode (terms decrease from the start)."""
    ratio, eps = (1 - p) / p, _eps()
    term, total, j = pmf_k, pmf_k, k
    while j > 0:
        term = term * ratio * j / (n - j + 1)
        j -= 1
        total += term
        if term < eps * total:
            break
    return total


def binomial_tail_ge(k: int, n: int, p) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``(P[Bin(n, p) >= k], P[Bin(n, p) = k])`` at the working precision, ``0 < p < 1``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     tail, pmf = binomial_tail_ge(2, 3, mpmath.mpf(1) / 2)
      >>> float(tail), float(pmf)
      (0.5, 0.375)
    """
    p = mpmath.mpf(p)
    pmf_k = mpmath.exp(log_pmf(k, n, p))
    if k == 0:
        return mpmath.mpf(1), pmf_k
    if k >= (n + 1) * p - 1:
        return _sum_up(k, n, p, pmf_k), pmf_k
    return 1 - _sum_down(k - 1, n, p, mpmath.exp(log_pmf(k - 1, n, p))), pmf_k


def binomial_tail_le(k: int, n: int, p) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``(P[Bin(n, p) <= k], P[Bin(n, p) = k])`` at the working precision, ``0 < p < 1``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     tail, pmf = binomial_tail_le(0, 3, mpmath.mpf(1) / 2)
      >>> float(tail), float(pmf)
      (0.125, 0.125)
    """
    p = mpmath.mpf(p)
    pmf_k = mpmath.exp(log_pmf(k, n, p))
    if k == n:
        return mpmath.mpf(1), pmf_k
    if k <= (n + 1) * p:
        return _sum_down(k, n, p, pmf_k), pmf_k
    return 1 - _sum_up(k + 1, n, p, mpmath.exp(log_pmf(k + 1, n, p))), pmf_k


def cp_root(k: int, n: int, alpha, side: str, *, start=None, rtol=None) -> tuple[mpmath.mpf, int]:
    """The Clopper-Pearson bound at the working precision: the root ``p`` of
    ``P[Bin(n, p) >= k] = alpha`` (``side="lower"``, ``1 <= k <= n``) or
    ``P[Bin(n, p) <= k] = alpha`` (``side="upper"``, ``0 <= k <= n - 1``).

    Newton on ``log tail(p) - log alpha`` (``d log P[>= k] / dp = k pmf(k) / (p P[>= k])``),
    safeguarded by a bracket: a step that leaves it is replaced by a geometric bisection
    (arithmetic once the bracket reaches 1). Converged when a step is below ``rtol * p``
    (default ``10^(5 - dps)``).

    Args:
      k, n: counts as above.
      alpha: the tail level in ``(0, 1)``.
      side: ``"lower"`` or ``"upper"``.
      start: first iterate in ``(0, 1)`` (e.g. a float64 estimate); default ``k / n``
        (lower) or ``(k + 1) / (n + 1)`` (upper), kept inside ``[1e-30, 1 - 1e-30]``.
      rtol: relative step size that stops the iteration.

    Returns:
      ``(p, iterations)``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     p, _ = cp_root(3, 3, mpmath.mpf("0.001"), "lower")
      >>> mpmath.nstr(p, 8)                      # alpha ** (1 / 3)
      '0.1'
    """
    mp = mpmath.mp
    a = mp.mpf(alpha)
    log_a = mp.log(a)
    p = mp.mpf(start) if start is not None else mp.mpf(0)
    if not 0 < p < 1:
        p = mp.mpf(k) / n if side == "lower" else mp.mpf(k + 1) / (n + 1)
        p = min(max(p, mp.mpf(10) ** -30), 1 - mp.mpf(10) ** -30)
    lo, hi = mp.mpf(0), mp.mpf(1)
    tol = mp.mpf(10) ** (5 - mp.dps) if rtol is None else mp.mpf(rtol)
    for it in range(1, 400):
        if side == "lower":
            tail, pmf_k = binomial_tail_ge(k, n, p)
            g = mp.log(tail) - log_a  # increasing in p
            dg = k * pmf_k / (p * tail)
            lo, hi = (lo, p) if g > 0 else (p, hi)
        else:
            tail, pmf_k = binomial_tail_le(k, n, p)
            g = mp.log(tail) - log_a  # decreasing in p
            dg = -(n - k) * pmf_k / ((1 - p) * tail)
            lo, hi = (p, hi) if g > 0 else (lo, p)
        new = p - g / dg
        if not lo < new < hi:  # Newton left the bracket: bisect (geometric near 0)
            new = (lo + hi) / 2 if hi == 1 else (mp.sqrt(lo * hi) if lo > 0 else hi / 2)
        done = abs(new - p) < tol * p
        p = new
        if done:
            return p, it
    raise RuntimeError(f"Newton did not converge for k={k}, n={n}, alpha={alpha}, side={side}")


def implied_error(side: str, k: int, n: int, p, alpha) -> tuple[float, float]:
    """How far a float64 Clopper-Pearson bound ``p`` is from the root, at the working precision.

    ``T`` is the tail that the bound solves (``P[Bin(n, p) >= k]`` for ``side="lower"``,
    ``P[Bin(n, p) <= k]`` for ``"upper"``). Returns ``(first-order relative error of p,
    |T(p) / alpha - 1|)``: the tail's residual divided by its elasticity ``p T'(p) / T(p)``.
    """
    if side == "lower":
        tail, pmf = binomial_tail_ge(k, n, p)
        elasticity = k * pmf / tail
    else:
        tail, pmf = binomial_tail_le(k, n, p)
        elasticity = (n - k) * p / (1 - p) * pmf / tail
    r = abs(tail / alpha - 1)
    return float(r / elasticity), float(r)


def error_below_one(k: int, n: int, alpha) -> tuple[float, float]:
    """:func:`implied_error` of an upper bound that rounds to 1: the error of the largest double
    below 1 (``U = 1`` is exact when the root lies in ``[1 - 2^-53, 1]``), plus ``2^-53``."""
    below = mpmath.mpf(1) - mpmath.mpf(2) ** -53  # the largest double below 1
    tail, _ = binomial_tail_le(k, n, below)
    if tail >= alpha:  # the tail decreases in p, so U_true lies in [below, 1]
        return float(2.0**-53), 0.0
    err, resid = implied_error("upper", k, n, below, alpha)
    return err + float(2.0**-53), resid
