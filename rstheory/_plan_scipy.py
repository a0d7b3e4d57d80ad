r"""``rstheory plan`` without JAX: the plan of a point, uniform or Beta law (with atoms).

The same numbers as the JAX path (:mod:`rstheory._plan_jax`: :mod:`rstheory.planning`,
:mod:`rstheory.scaling`, :mod:`rstheory._exact`), from NumPy and SciPy's special
functions only, so the command answers before ``import jax`` alone would have finished:

* the exact curves ``E[R_n]`` and ``acc_n(r)`` (:func:`exact_curves`): the windowed
  binomial sums of :mod:`rstheory._plan_sums` over the law's quadrature
  (:mod:`rstheory._plan_laws`), each ``n`` with one radius table of
  :mod:`rstheory._plan_cp`;
* the smallest ``n`` for a target and the first-order estimate beside it
  (:func:`required_samples`, :func:`closed_form_reason`): the search of
  :mod:`rstheory._plan_search` on those curves;
* the columns beside them: the radius cap ``sigma Phi^-1(alpha^(1/n))``
  (:func:`radius_cap`) and Seferis, Kollias & Cheng's (2024) Eq. (2),
  ``1 - 1.64 z / sqrt(n)`` with ``z = Phi^-1(1 - alpha/2)`` (:func:`eq2_ratio`).

``tests/rstheory/test_plan_scipy.py`` compares every function with the JAX path (to
``1e-10`` relative, the same ``n``).

Example:
  >>> from rstheory._plan_laws import BetaLaw
  >>> from rstheory._plan_scipy import required_samples
  >>> plan = required_samples(BetaLaw(8.0, 2.0), alpha=0.001, sigma=0.5, target_ratio=0.9)
  >>> plan.n, plan.achieved >= plan.target, round(plan.closed_form_n)
  (2579, True, 2617)
"""

from __future__ import annotations

import numpy as np
import scipy.special

from rstheory import _plan_entry
from rstheory._plan_search import Plan, first_order_constant_of
from rstheory._plan_sums import RadiusAccuracy, dist_quadrature, radius_accuracy
from rstheory._validation import check_alpha, check_real, check_sample_sizes, check_sigma

__all__ = [
    "closed_form_reason",
    "eq2_ratio",
    "exact_curves",
    "radius_cap",
    "required_samples",
]

# Eq. (2)'s constant, as printed (rstheory.scaling.P2_EQ2_CONSTANT).
_EQ2_CONSTANT = 1.64


def _settings(alpha, sigma) -> tuple[float, float]:
    check_alpha(alpha)
    check_sigma(sigma)
    return check_real(alpha, name="alpha"), check_real(sigma, name="sigma")


def exact_curves(law, n, *, alpha=0.001, sigma, radius=0.0) -> RadiusAccuracy:
    """Exact ``E[R_n]`` and ``acc_n(radius)`` of ``law`` for the sample sizes ``n``.

    Args:
      law: a law of :mod:`rstheory._plan_laws` (anything with ``quadrature()``).
      n: sample sizes, integers ``>= 1``, scalar or ``(m,)``.
      alpha, sigma: in ``(0, 1)`` and ``> 0``.
      radius: the accuracy's radius ``>= 0`` (``0``: certified at all).

    Returns:
      :class:`rstheory._plan_sums.RadiusAccuracy`: ``radius`` ``(m,)``, ``accuracy``
      ``(m, 1)``; what :func:`rstheory.scaling.expected_radius` and
      :func:`rstheory.scaling.certified_accuracy` give.
    """
    quadrature = dist_quadrature(law)
    ns = check_sample_sizes(n)
    alpha, sigma = _settings(alpha, sigma)
    radii = np.array([check_real(radius, name="radius", low=0.0)])
    return radius_accuracy(quadrature, ns, alpha=alpha, sigma=sigma, radii=radii)


def required_samples(
    law,
    *,
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
    n_max=10**7,
) -> Plan:
    """:func:`rstheory.planning.required_samples` of a law, without JAX: the same
    arguments, checks, search and :class:`Plan` (:mod:`rstheory._plan_entry`)."""
    nodes, weights = dist_quadrature(law)
    quadrature = (nodes, weights)

    def curves(alpha: float, sigma: float):
        def mean_radius(n):
            ns = np.atleast_1d(np.asarray(n, dtype=np.int64))
            out = radius_accuracy(quadrature, ns, alpha=alpha, sigma=sigma, radii=np.zeros(1))
            return out.radius if np.ndim(n) else out.radius[0]

        def accuracy(n, r0):
            out = radius_accuracy(quadrature, n, alpha=alpha, sigma=sigma, radii=np.array([r0]))
            return out.accuracy[:, 0]

        return mean_radius, accuracy

    return _plan_entry.required_samples(
        nodes,
        weights,
        constant=lambda: first_order_constant_of(nodes, weights),
        curves=curves,
        alpha=alpha,
        sigma=sigma,
        target_ratio=target_ratio,
        reference_n=reference_n,
        target_radius=target_radius,
        target_accuracy=target_accuracy,
        at_radius=at_radius,
        n_max=n_max,
    )


def closed_form_reason(
    law,
    *,
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
) -> str | None:
    """:func:`rstheory._planning.closed_form_reason` of a law, without JAX."""
    nodes, weights = dist_quadrature(law)
    return _plan_entry.closed_form_reason(
        nodes,
        weights,
        constant=lambda: first_order_constant_of(nodes, weights),
        alpha=alpha,
        sigma=sigma,
        target_ratio=target_ratio,
        reference_n=reference_n,
        target_radius=target_radius,
        target_accuracy=target_accuracy,
        at_radius=at_radius,
    )


def radius_cap(n, *, alpha=0.001, sigma) -> np.ndarray:
    """``sigma Phi^-1(alpha^(1/n))``, the largest radius of ``n`` samples
    (:func:`rstheory.scaling.radius_cap`); float64 of the shape of ``n``."""
    ns = check_sample_sizes(n)
    alpha, sigma = _settings(alpha, sigma)
    out = sigma * scipy.special.ndtri(np.power(alpha, 1.0 / ns.astype(np.float64)))
    return out.reshape(np.shape(n))


def eq2_ratio(n, *, alpha=0.001) -> np.ndarray:
    """Eq. (2) of Seferis et al. (2024), ``1 - 1.64 z / sqrt(n)`` with two-sided ``z``
    (:func:`rstheory.scaling.average_radius_ratio`); float64 of the shape of ``n``."""
    ns = check_sample_sizes(n)
    check_alpha(alpha)
    z = -scipy.special.ndtri(float(alpha) / 2.0)  # scipy.stats.norm.isf(alpha / 2)
    return (1.0 - _EQ2_CONSTANT * z / np.sqrt(ns.astype(np.float64))).reshape(np.shape(n))
