"""Clopper-Pearson confidence bounds on a binomial proportion.

The one-sided lower bound at confidence ``1 - alpha`` is the ``p`` with

    P[Bin(n, p) >= k] = I_p(k, n - k + 1) = alpha,

that is the ``alpha`` quantile of ``Beta(k, n - k + 1)``; the upper bound is the
``p`` with ``P[Bin(n, p) <= k] = alpha``. Both are computed by
:mod:`rstheory._beta_quantile`, a native JAX inversion of the binomial tail.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from rstheory import (
    _beta_quantile,
    _jax,  # noqa: F401  (float64 before any array)
)
from rstheory._batching import call_bucketed
from rstheory._deprecation import keyword_only
from rstheory._validation import check_alpha, check_broadcast, check_counts, is_traced

__all__ = ["ConfidenceInterval", "cp_interval", "cp_lower", "cp_upper"]


class ConfidenceInterval(NamedTuple):
    """A two-sided confidence interval ``(low, high)``; a pytree, passes through jit."""

    low: jax.Array
    high: jax.Array


# One compiled program serves both sides (``upper`` is data, not a static flag), so a
# batch size costs one compilation for cp_lower, cp_upper, cp_interval and certify.
_bound = jax.jit(_beta_quantile.binomial_bound)

_FILLS = (1.0, 2.0, 0.5, 0.0)  # a valid (k, n, alpha, upper) for padding


def bound_unchecked(k, n, alpha, upper: bool):
    """The bound on already validated arguments (callers that validated them once)."""
    return call_bucketed(_bound, (k, n, alpha, upper), _FILLS)


def _call(k, n, alpha, upper: bool):
    check_counts(k, n)
    check_alpha(alpha)
    check_broadcast(k=k, n=n, alpha=alpha)
    return bound_unchecked(k, n, alpha, upper)


@keyword_only("alpha")
def cp_lower(k, n, *, alpha=0.001):
    r"""One-sided ``(1 - alpha)`` lower Clopper-Pearson bound on a binomial proportion.

    .. math::
        \underline{p}(k, n, \alpha) = \text{the } p \text{ with }
        P[\mathrm{Bin}(n, p) \ge k] = \alpha
        = \mathrm{Beta}^{-1}(\alpha;\, k,\, n - k + 1).

    Args:
      k: successes (votes for the top class), integer-valued, shape ``(*batch)``,
        ``0 <= k <= n``.
      n: trials, integer-valued, ``n >= 1``; broadcasts with ``k``.
      alpha: significance level in ``(0, 1)``; broadcasts with ``k`` and ``n``; default
        ``0.001`` as in Cohen et al. (2019).

    Returns:
      float64 array of the broadcast shape ``(*batch)``.

    Notes:
      Coverage: ``P[p_lower <= p] >= 1 - alpha`` for every true ``p`` (conservative:
      the discreteness of the binomial makes it exceed ``1 - alpha``).
      Ends: exactly ``0`` at ``k = 0``; exactly ``alpha ** (1 / n)`` at ``k = n``
      (so ``n = 1`` gives ``0`` or ``alpha``). Relative error at most ``1e-10`` for
      ``1 <= n <= 1e8`` and ``1e-15 <= alpha <= 0.5`` (the test suite measures it).

    Example:
      >>> import rstheory
      >>> round(float(rstheory.cp_lower(90, 100, alpha=0.001)), 6)
      0.77533

    References:
      C. J. Clopper, E. S. Pearson (1934), Biometrika 26(4), 404-413.
    """
    return _call(k, n, alpha, False)


@keyword_only("alpha")
def cp_upper(k, n, *, alpha=0.001):
    r"""One-sided ``(1 - alpha)`` upper Clopper-Pearson bound on a binomial proportion.

    .. math::
        \overline{p}(k, n, \alpha) = \text{the } p \text{ with }
        P[\mathrm{Bin}(n, p) \le k] = \alpha
        = \mathrm{Beta}^{-1}(1 - \alpha;\, k + 1,\, n - k).

    Args and shapes as :func:`cp_lower`.

    Returns:
      float64 array of the broadcast shape ``(*batch)``.

    Notes:
      Exactly ``1`` at ``k = n``; exactly ``1 - alpha ** (1 / n)`` at ``k = 0``.
      Computed directly, not as ``1 - cp_lower(n - k, n, alpha)`` in floating point,
      so small bounds keep their relative accuracy (``k = 1, n = 1e8``: about 9.2e-8).

    Example:
      >>> import rstheory
      >>> round(float(rstheory.cp_upper(0, 100, alpha=0.05)), 6)
      0.029513
    """
    return _call(k, n, alpha, True)


@keyword_only("alpha")
def cp_interval(k, n, *, alpha=0.001) -> ConfidenceInterval:
    r"""Two-sided ``(1 - alpha)`` Clopper-Pearson interval, ``alpha`` split evenly.

    ``cp_interval(k, n, alpha) == (cp_lower(k, n, alpha / 2), cp_upper(k, n, alpha / 2))``,
    so ``cp_lower(k, n, a) == cp_interval(k, n, 2 * a).low``.

    Args:
      k, n: as :func:`cp_lower`.
      alpha: total significance level in ``(0, 1)``.

    Returns:
      :class:`ConfidenceInterval` ``(low, high)``, each float64 of shape ``(*batch)``.

    Example:
      >>> import rstheory
      >>> ci = rstheory.cp_interval(5, 10, alpha=0.05)
      >>> round(float(ci.low), 6), round(float(ci.high), 6)
      (0.187086, 0.812914)
    """
    check_counts(k, n)
    check_alpha(alpha)
    check_broadcast(k=k, n=n, alpha=alpha)
    half = 0.5 * (alpha if is_traced(alpha) else np.asarray(alpha, dtype=np.float64))
    return ConfidenceInterval(bound_unchecked(k, n, half, False), bound_unchecked(k, n, half, True))
