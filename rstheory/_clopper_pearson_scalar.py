r"""Clopper-Pearson bounds for one count, without JAX: the fast path of ``rstheory bound``.

The same bounds as :func:`rstheory.cp_lower` and :func:`rstheory.cp_upper`, for Python
scalars, with SciPy's special functions only (``import scipy.special`` costs a fraction
of ``import jax``, so a command that bounds one count answers before JAX would have
loaded). The lower bound is the root of

.. math::
    g(u) = \log I_{x(u)}(k,\, n - k + 1) - \log\alpha, \qquad x(u) = \frac{1}{1 + e^{-u}},

and the upper bound the root of ``log(1 - I_x(k + 1, n - k)) - log(alpha)`` (Clopper &
Pearson 1934; the regularized incomplete beta ``I`` is Boost's, through
``scipy.special.betainc``/``betaincc``). SciPy's inverse (``betaincinv``) gives the
start; it drifts to about ``1e-9`` relative at ``n = 1e8``, so ``POLISH_STEPS`` Newton
steps on the logit ``u`` follow, with the exact slope
``g'(u) = \pm x^a (1 - x)^b / (B(a, b)\, T)`` (the method of
:mod:`rstheory._beta_quantile`, there with Halley steps). The ends are closed forms:
``0`` and ``alpha ** (1 / n)`` for the lower bound at ``k = 0`` and ``k = n``, ``1`` and
``1 - alpha ** (1 / n)`` for the upper one.

``tests/rstheory/test_clopper_pearson_scalar.py`` checks, on a hypothesis grid of
``1 <= n <= MAX_N`` and ``1e-15 <= alpha <= 1/2``, that these equal the JAX path's to
``1e-12`` relative. Outside that range (``n > MAX_N``) the command line uses the JAX path.

Example:
  >>> from rstheory._clopper_pearson_scalar import cp_lower_scalar, cp_upper_scalar
  >>> round(cp_lower_scalar(990, 1000, alpha=0.001), 9)
  0.976036187
  >>> round(cp_upper_scalar(0, 100, alpha=0.05), 6)
  0.029513
"""

from __future__ import annotations

import math

__all__ = ["MAX_N", "POLISH_STEPS", "cp_lower_scalar", "cp_upper_scalar"]

# The largest n of the fast path: the range where the JAX path's accuracy is measured
# (rstheory.cp_lower, Notes) and where the test compares the two.
MAX_N = 10**8
POLISH_STEPS = 4


def _log_expit(u: float) -> float:
    """``log(1 / (1 + exp(-u)))`` without overflow."""
    return -math.log1p(math.exp(-u)) if u >= 0 else u - math.log1p(math.exp(u))


def _expit(u: float) -> float:
    return 1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u))


def _root(a: float, b: float, alpha: float, x0: float, *, upper: bool) -> float:
    """The ``x`` with ``I_x(a, b) = alpha`` (or ``1 - I_x(a, b) = alpha`` when ``upper``)."""
    from scipy import special

    tail = special.betaincc if upper else special.betainc
    log_alpha, log_beta = math.log(alpha), float(special.betaln(a, b))
    x0 = min(max(x0, 1e-300), 1.0 - 1e-16)
    u = math.log(x0) - math.log1p(-x0)
    for _ in range(POLISH_STEPS):
        x = _expit(u)
        t = float(tail(a, b, x))
        if not t > 0.0:  # underflow far from the root: keep SciPy's start
            break
        log_density = a * _log_expit(u) + b * _log_expit(-u) - log_beta  # dI/du
        slope = math.exp(log_density - math.log(t)) * (-1.0 if upper else 1.0)
        step = (math.log(t) - log_alpha) / slope
        u -= step
        if abs(step) <= 1e-15 * max(1.0, abs(u)):
            break
    return _expit(u)


def _check(k: int, n: int, alpha: float) -> None:
    if not (1 <= n <= MAX_N and 0 <= k <= n):
        raise ValueError(f"k, n must satisfy 0 <= k <= n and 1 <= n <= {MAX_N}, got {k}, {n}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in the open interval (0, 1), got {alpha!r}")


def cp_lower_scalar(k: int, n: int, *, alpha: float = 0.001) -> float:
    """One-sided ``(1 - alpha)`` lower Clopper-Pearson bound of one count, a float.

    ``k``, ``n``: Python integers, ``0 <= k <= n``, ``1 <= n <= MAX_N``; ``alpha`` in
    ``(0, 1)``. Equals :func:`rstheory.cp_lower` to ``1e-12`` relative.
    """
    _check(k, n, alpha)
    if k == 0:
        return 0.0
    if k == n:
        return alpha ** (1.0 / n)
    from scipy import special

    a, b = float(k), float(n - k + 1)
    return _root(a, b, alpha, float(special.betaincinv(a, b, alpha)), upper=False)


def cp_upper_scalar(k: int, n: int, *, alpha: float = 0.001) -> float:
    """One-sided ``(1 - alpha)`` upper Clopper-Pearson bound of one count, a float.

    Arguments as :func:`cp_lower_scalar`. Equals :func:`rstheory.cp_upper` to ``1e-12``
    relative.
    """
    _check(k, n, alpha)
    if k == n:
        return 1.0
    if k == 0:
        return -math.expm1(math.log(alpha) / n)
    from scipy import special

    a, b = float(k + 1), float(n - k)
    return _root(a, b, alpha, float(special.betainccinv(a, b, alpha)), upper=True)
