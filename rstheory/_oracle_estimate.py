"""Estimating a noisy oracle's error rates from labelled calibration answers.

Exact Clopper-Pearson bounds on a symmetric error rate (:func:`estimate_error`,
:func:`estimate_error_interval`) and on class-conditional rates (:func:`estimate_rates`);
:func:`rstheory.certify` takes their results through ``oracle_error=`` (the corrections
are in :mod:`rstheory._oracle_correction`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._clopper_pearson import cp_interval, cp_upper
from rstheory._validation import (
    as_f64,
    check_alpha,
    check_counts,
    is_traced,
)

__all__ = [
    "ErrorBound",
    "ErrorInterval",
    "RateBounds",
    "estimate_error",
    "estimate_error_interval",
    "estimate_rates",
]


class ErrorBound(NamedTuple):
    """One-sided ``(1 - alpha)`` upper confidence bound on a symmetric oracle error rate.

    Attributes:
      eps_upper: upper bound on ``eps``, float64 ``(*batch)``.
      alpha: its significance level; ``0`` marks a bound known without estimation.
    """

    eps_upper: jax.Array
    alpha: jax.Array


class ErrorInterval(NamedTuple):
    """Two-sided ``(1 - alpha)`` confidence interval on a symmetric oracle error rate.

    Attributes:
      eps_lower, eps_upper: the interval, float64 ``(*batch)``; jointly at level ``alpha``.
      alpha: its significance level; ``0`` marks an interval known without estimation.
    """

    eps_lower: jax.Array
    eps_upper: jax.Array
    alpha: jax.Array


class RateBounds(NamedTuple):
    """Joint ``(1 - alpha)`` upper bounds on the false-positive and false-negative rates.

    Attributes:
      eps_fp_upper: upper bound on ``P[O = A | y* != A]``, float64 ``(*batch)``.
      eps_fn_upper: upper bound on ``P[O != A | y* = A]``, float64 ``(*batch)``.
      alpha: joint significance level (each bound at ``alpha / 2``); ``0`` marks known bounds.
    """

    eps_fp_upper: jax.Array
    eps_fn_upper: jax.Array
    alpha: jax.Array


def estimate_error(errors, m, *, alpha=0.001) -> ErrorBound:
    r"""Exact one-sided ``(1 - alpha)`` upper bound on a symmetric oracle error rate.

    From ``m`` calibration answers with known true labels, ``errors`` of which the
    oracle labelled wrongly: ``eps_upper = cp_upper(errors, m, alpha)``, so
    ``P[eps <= eps_upper] >= 1 - alpha`` for every ``eps``.

    Args:
      errors: wrongly labelled calibration answers, integer in ``[0, m]``, ``(*batch)``.
      m: calibration answers, integer ``>= 1``; broadcasts.
      alpha: significance level in ``(0, 1)``.

    Returns:
      :class:`ErrorBound` ``(eps_upper, alpha)``.

    Notes:
      An upper bound alone cannot *raise* a certificate: where ``q > 1/2`` the correction
      increases in ``eps``, so plugging in ``eps_upper`` would overstate ``p``.
      :func:`rstheory.certify` therefore uses it only as the worst case over
      ``[0, eps_upper]``; :func:`estimate_error_interval` gives the lower end as well.

    Example:
      >>> from rstheory import oracle
      >>> eb = oracle.estimate_error(10, 200, alpha=0.001)
      >>> round(float(eb.eps_upper), 6)
      0.116455
    """
    check_counts(errors, m, k_name="errors", n_name="m")
    check_alpha(alpha)
    return ErrorBound(cp_upper(errors, m, alpha=alpha), _level(alpha))


def estimate_error_interval(errors, m, *, alpha=0.001) -> ErrorInterval:
    r"""Exact two-sided ``(1 - alpha)`` Clopper-Pearson interval on a symmetric error rate.

    ``(eps_lower, eps_upper) = cp_interval(errors, m, alpha)``: each end at ``alpha / 2``,
    jointly at ``alpha``. The lower end is what lets :func:`rstheory.certify` *raise*
    ``p_lower`` soundly (see there).

    Args and shapes as :func:`estimate_error`.

    Returns:
      :class:`ErrorInterval` ``(eps_lower, eps_upper, alpha)``.

    Example:
      >>> from rstheory import oracle
      >>> ei = oracle.estimate_error_interval(10, 200, alpha=0.001)
      >>> round(float(ei.eps_lower), 6), round(float(ei.eps_upper), 6)
      (0.013713, 0.121526)
    """
    check_counts(errors, m, k_name="errors", n_name="m")
    check_alpha(alpha)
    low, high = cp_interval(errors, m, alpha=alpha)
    return ErrorInterval(low, high, _level(alpha))


def estimate_rates(
    false_positives, negatives, false_negatives, positives, *, alpha=0.001
) -> RateBounds:
    r"""Joint ``(1 - alpha)`` upper bounds on the oracle's false-positive and false-negative rates.

    From a labelled confusion matrix for class ``A``: ``false_positives`` of the
    ``negatives`` (true label not ``A``) were labelled ``A``, and ``false_negatives`` of
    the ``positives`` (true label ``A``) were not. Each rate gets an exact one-sided
    Clopper-Pearson upper bound at ``alpha / 2``, so by Bonferroni (the union bound) both
    hold together with probability at least ``1 - alpha``.

    Args:
      false_positives: integer in ``[0, negatives]``, ``(*batch)``.
      negatives: integer ``>= 1``.
      false_negatives: integer in ``[0, positives]``.
      positives: integer ``>= 1``. All four broadcast.
      alpha: joint significance level in ``(0, 1)``.

    Returns:
      :class:`RateBounds` ``(eps_fp_upper, eps_fn_upper, alpha)``.

    Example:
      >>> from rstheory import oracle
      >>> rb = oracle.estimate_rates(20, 500, 5, 500, alpha=0.002)
      >>> round(float(rb.eps_fp_upper), 6), round(float(rb.eps_fn_upper), 6)
      (0.074714, 0.032535)
    """
    check_counts(false_positives, negatives, k_name="false_positives", n_name="negatives")
    check_counts(false_negatives, positives, k_name="false_negatives", n_name="positives")
    check_alpha(alpha)
    half = 0.5 * (alpha if is_traced(alpha) else np.asarray(alpha, dtype=np.float64))
    return RateBounds(
        cp_upper(false_positives, negatives, alpha=half),
        cp_upper(false_negatives, positives, alpha=half),
        _level(alpha),
    )


def _level(alpha):
    return alpha if is_traced(alpha) else as_f64(alpha)
