r"""Closed-form scaling laws: how the certified radius and accuracy depend on ``n``.

The closed forms of Seferis, Kollias & Cheng (2024), exactly as printed
(Eqs. 1-3), the first-order exact-quantile law beside them with its constants,
and :func:`compare_closed_form`, which puts them against the exact expectations of
:mod:`rstheory._exact` (re-exported here, so :mod:`rstheory.scaling` holds both).

References:
  E. Seferis, S. Kollias, C.-H. Cheng (2024), "Estimating the Robustness Radius for
  Randomized Smoothing with 100x Sample Efficiency", ECAI 2024, arXiv 2404.17371
  (Eq. 1: Shore-approximated point radius; Eq. 2: average-radius ratio
  ``1 - 1.64 z / sqrt(n)``; Eq. 3: accuracy-drop bound ``z / sqrt(n)``).
  H. Shore (1982), "Simple approximations for the inverse cumulative function, the
  density function and the loss integral of the normal distribution", Applied
  Statistics 31(2), 108-114.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import scipy.special
import scipy.stats
from jax.scipy.special import ndtri

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._deprecation import renamed
from rstheory._exact import (
    RadiusMoments,
    abstain_rate,
    certified_accuracy,
    dist_quadrature,
    exact_sums,
    expected_p_lower,
    expected_radius,
    radius_cap,
    radius_moments,
)
from rstheory._plan_search import (
    first_order_constant_of,
    n_for_ratio,  # noqa: F401  (rstheory._scaling.n_for_ratio)
)
from rstheory._radius import certified_radius
from rstheory._validation import (
    as_f64,
    check_alpha,
    check_counts,
    check_probability,
    check_real,
    check_sample_sizes,
    check_sigma,
)

__all__ = [
    "P2_EQ2_CONSTANT",
    "SHORE_EXPONENT_CORRECTED",
    "SHORE_EXPONENT_PRINTED",
    "RadiusMoments",
    "ScalingComparison",
    "abstain_rate",
    "accuracy_drop_bound",
    "average_radius_ratio",
    "certified_accuracy",
    "compare_closed_form",
    "distribution_free_ratio",
    "expected_p_lower",
    "expected_radius",
    "first_order_constant",
    "first_order_radius",
    "radius_cap",
    "radius_moments",
    "shore_radius",
]

# Eq. (1) as printed: 5.063 (= 1 / 0.1975 rounded) and Shore's exponent 0.135.
_SHORE_SCALE = 5.063
_SHORE_POWER = 0.135
# The derivative of p**0.135 - (1-p)**0.135 times sqrt(p(1-p)) has exponents 0.135 - 1 + 0.5.
SHORE_EXPONENT_CORRECTED = -0.365
# The notebook's Eq. (1) prints (1 - p)**-0.135 in the second term (a likely typo).
SHORE_EXPONENT_PRINTED = -0.135
# Eq. (2)'s constant, as printed (its provenance is unresolved, see the docstring).
P2_EQ2_CONSTANT = 1.64


def z_one_sided(alpha: float) -> float:
    return float(scipy.stats.norm.isf(alpha))


def z_two_sided(alpha: float) -> float:
    return float(scipy.stats.norm.isf(alpha / 2.0))


# --------------------------------------------------------------------------- closed forms


def shore_radius(p, n, *, alpha=0.001, sigma, exponent=SHORE_EXPONENT_CORRECTED):
    r"""Seferis et al.'s (2024) Eq. (1): point radius with Shore's approximation of ``Phi^-1``.

    .. math::
        R \approx 5.063\,\sigma\Big[p^{0.135} - (1-p)^{0.135}
        - 0.135\,\frac{z}{\sqrt n}\big(p^{-0.365}(1-p)^{0.5} + p^{0.5}(1-p)^{e}\big)\Big],
        \qquad z = \Phi^{-1}(1 - \alpha/2).

    **Discrepancy.** The first-order Taylor expansion of Shore's
    ``p**0.135 - (1-p)**0.135`` gives ``e = -0.365`` (0.5 - 0.865), the default
    (:data:`SHORE_EXPONENT_CORRECTED`). The paper's notebook prints ``e = -0.135``
    (:data:`SHORE_EXPONENT_PRINTED`, a likely typo); it gives a visibly smaller
    correction, e.g. 1.1658 vs 1.1015 at ``p = 0.9, n = 1000, alpha = 0.001``, above the
    exact 1.1207. ``z`` is the paper's two-sided quantile (slightly conservative for
    the one-sided bound actually used; see :func:`first_order_radius`).

    Args:
      p: true top-class probability in ``[0, 1]``, shape ``(*batch)`` (meaningful for
        ``1/2 < p < 1``; the ends give infinities).
      n: sample sizes, integers ``>= 1``; broadcasts with ``p``.
      alpha: significance level in ``(0, 1)``.
      sigma: noise level ``> 0``.
      exponent: ``e`` above.

    Returns:
      float64 of the broadcast shape (not clipped at 0: no abstention).

    Example:
      >>> from rstheory import scaling
      >>> round(float(scaling.shore_radius(0.9, 1000, alpha=0.001, sigma=1.0)), 4)
      1.1015

    References:
      Seferis, Kollias & Cheng (2024), Eq. (1); H. Shore (1982). Checked by the
      proofs_check entry ``scaling.p2_eq1_shore``.
    """
    check_probability(p, name="p")
    check_counts(0, n)
    check_alpha(alpha)
    check_sigma(sigma)
    p = as_f64(p)
    n = as_f64(n)
    c = _SHORE_POWER
    z = z_two_sided(float(alpha))
    g = p ** (c - 1.0 + 0.5) * (1.0 - p) ** 0.5 + p**0.5 * (1.0 - p) ** as_f64(exponent)
    h = p**c - (1.0 - p) ** c
    return _SHORE_SCALE * as_f64(sigma) * (h - c * (z / jnp.sqrt(n)) * g)


def average_radius_ratio(n, *, alpha=0.001):
    r"""Seferis et al.'s (2024) Eq. (2): average-radius ratio ``1 - 1.64 z / sqrt(n)``,
    ``z = Phi^-1(1 - alpha/2)``.

    .. math::
        r_\sigma(\alpha, n) = \bar R_\sigma(\alpha, n) / \bar R^\infty_\sigma
        \approx 1 - 1.64\,\frac{z}{\sqrt n}.

    The constant 1.64 is not the first-order constant of ``p ~ U[0.5, 1]`` (that is
    2.02, see :func:`first_order_constant`), but the exact ratio of that model tracks
    Eq. (2) within 0.015 for ``n >= 250``. Negative for tiny ``n`` (``-0.079`` at 25).

    Args:
      n: sample sizes, integers ``>= 1``, shape ``(*batch)``.
      alpha: significance level in ``(0, 1)``.

    Returns:
      float64 of shape ``(*batch)``.

    Example:
      >>> from rstheory import scaling
      >>> round(float(scaling.average_radius_ratio(1000, alpha=0.001)), 3)
      0.829

    References:
      Seferis, Kollias & Cheng (2024), Eq. (2); checked by the proofs_check entry
      ``scaling.p2_eq2_eq3``.
    """
    check_counts(0, n)
    check_alpha(alpha)
    return 1.0 - P2_EQ2_CONSTANT * z_two_sided(float(alpha)) / jnp.sqrt(as_f64(n))


def accuracy_drop_bound(n, *, alpha=0.001):
    r"""Seferis et al.'s (2024) Eq. (3): bound on the certified-accuracy drop at any radius,
    ``z / sqrt(n)``.

    .. math::
        \Delta\mathrm{acc}_{R_0} \le \frac{z}{\sqrt n},\qquad z = \Phi^{-1}(1 - \alpha/2).

    Derived for a density of ``p`` at most 2 (e.g. ``U[0.5, 1]``); for density ``D`` the
    bound is ``D z / (2 sqrt(n))``.

    Args:
      n: sample sizes, integers ``>= 1``, shape ``(*batch)``.
      alpha: significance level in ``(0, 1)``.

    Returns:
      float64 of shape ``(*batch)``.

    Example:
      >>> from rstheory import scaling
      >>> round(float(scaling.accuracy_drop_bound(100, alpha=0.001)), 3)
      0.329

    References:
      Seferis, Kollias & Cheng (2024), Eq. (3); checked by the proofs_check entry
      ``scaling.p2_eq2_eq3``.
    """
    check_counts(0, n)
    check_alpha(alpha)
    return z_two_sided(float(alpha)) / jnp.sqrt(as_f64(n))


def _z(alpha: float, two_sided: bool) -> float:
    return z_two_sided(alpha) if two_sided else z_one_sided(alpha)


def _k_pointwise(p):
    """``sqrt(p (1 - p)) / phi(Phi^-1(p))`` (numpy, float64)."""
    x = scipy.special.ndtri(p)
    return np.sqrt(p * (1.0 - p)) / scipy.stats.norm.pdf(x)


def first_order_radius(p, n, *, alpha=0.001, sigma, two_sided=False):
    r"""First-order exact-quantile law for the certified radius (no Shore approximation).

    .. math::
        R_n(p) \approx \sigma\Big[\Phi^{-1}(p) - \frac{z}{\sqrt n}
        \frac{\sqrt{p(1-p)}}{\phi(\Phi^{-1}(p))}\Big],
        \qquad z = \Phi^{-1}(1 - \alpha)\ \text{(default)}.

    The one-sided quantile is the right one: :func:`rstheory.cp_lower` is a one-sided
    level-``alpha`` bound, whose normal analogue is ``p - z sqrt(p(1-p)/n)`` with
    ``z = Phi^-1(1 - alpha)``; with it the error against the exact expectation decays
    like ``1/n`` (tested), while Seferis et al.'s (2024) two-sided ``Phi^-1(1 - alpha/2)``
    (``two_sided=True``) leaves an ``O(1/sqrt(n))`` bias (3.29 vs 3.09 at
    ``alpha = 0.001``). Valid for ``p`` away from 1/2 and 1 and large ``n``.

    Args:
      p: true top-class probability in ``[0, 1]``, shape ``(*batch)``; the ends give
        ``nan`` / infinities.
      n: sample sizes, integers ``>= 1``; broadcasts with ``p``.
      alpha: significance level in ``(0, 1)``.
      sigma: noise level ``> 0``.
      two_sided: use Seferis et al.'s (2024) ``z = Phi^-1(1 - alpha/2)`` instead.

    Returns:
      float64 of the broadcast shape (not clipped at 0: no abstention).

    Example:
      >>> from rstheory import scaling
      >>> round(float(scaling.first_order_radius(0.9, 1000, alpha=0.001, sigma=1.0)), 4)
      1.1145

    References:
      The exact-quantile analogue of Eq. (1) of Seferis, Kollias & Cheng (2024), derived
      for this project; verified by the proofs_check entry ``scaling.first_order_law``.
    """
    check_probability(p, name="p")
    check_counts(0, n)
    check_alpha(alpha)
    check_sigma(sigma)
    p = as_f64(p)
    x = ndtri(p)
    phi = jnp.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    z = _z(float(alpha), two_sided)
    return as_f64(sigma) * (x - (z / jnp.sqrt(as_f64(n))) * jnp.sqrt(p * (1.0 - p)) / phi)


def first_order_constant(dist):
    r"""First-order constant ``K`` of the average-radius law ``ratio ~ 1 - K z / sqrt(n)``.

    .. math::
        K = \frac{\mathbb E\big[\sqrt{p(1-p)}/\phi(\Phi^{-1}(p))\big]}{\mathbb E[\Phi^{-1}(p)]},

    both expectations over the distribution's certified part ``p > 1/2`` (the rest has
    radius 0 with any ``n``). Obtained by averaging :func:`first_order_radius`. Nodes at
    ``p = 1`` make both expectations infinite (the CLT fails there); ``K`` is then
    ``nan``; ``nan`` also when no node exceeds 1/2.

    Args:
      dist: an object with ``quadrature() -> (nodes, weights)``.

    Returns:
      float64 scalar.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [0.9], [1.0]
      >>> round(float(scaling.first_order_constant(PointMass())), 2)
      1.33

    References:
      Derived for this project (K = 2.024 for U[0.5, 1], 1.589 for U[0.7, 1]); verified by
      the proofs_check entry ``scaling.first_order_constant``.
    """
    return as_f64(first_order_constant_of(*dist_quadrature(dist)))


def distribution_free_ratio(n, *, alpha=0.001, beta, p_max, two_sided=False):
    r"""First-order lower bound on ``E[R_n] / E[R_inf]`` for any ``p`` law on ``[beta, p_max]``.

    .. math::
        \frac{\mathbb E[R_n]}{\mathbb E[R_\infty]} \ge 1 - \Big(\sup_{p \in [\beta, p_{\max}]}
        K(p)\Big)\frac{z}{\sqrt n},\qquad
        K(p) = \frac{\sqrt{p(1-p)}}{\phi(\Phi^{-1}(p))\,\Phi^{-1}(p)},

    a ratio of averages being at least the infimum of the pointwise ratios. ``K(p)``
    diverges at 1/2 and 1 with one minimum (about 1.29 near ``p = 0.95``); the supremum
    is taken over the two ends and a 4097-point grid.

    Args:
      n: sample sizes, integers ``>= 1``, shape ``(*batch)``.
      alpha: significance level in ``(0, 1)``.
      beta: lower end of the support, ``1/2 < beta <= p_max``.
      p_max: upper end, ``p_max < 1``.
      two_sided: use Seferis et al.'s (2024) ``z = Phi^-1(1 - alpha/2)`` instead of
        ``Phi^-1(1 - alpha)``.

    Returns:
      float64 of shape ``(*batch)``.

    Example:
      >>> from rstheory import scaling
      >>> r = scaling.distribution_free_ratio(
      ...     1000, alpha=0.001, beta=0.7, p_max=0.99, two_sided=True
      ... )
      >>> round(float(r), 3)
      0.738

    References:
      Derived for this project; verified by the proofs_check entries
      ``scaling.distribution_free_bound`` and ``scaling.distribution_free_exact``.
    """
    check_counts(0, n)
    check_alpha(alpha)
    b = check_real(beta, name="beta")
    pm = check_real(p_max, name="p_max")
    if not 0.5 < b < 1.0:
        raise ValueError(f"beta must lie in the open interval (0.5, 1), got {b!r}")
    if not b <= pm < 1.0:
        raise ValueError(f"p_max must lie in [beta, 1) = [{b!r}, 1), got {pm!r}")
    grid = np.concatenate([[b, pm], np.linspace(b, pm, 4097)])
    k_sup = float(np.max(_k_pointwise(grid) / scipy.special.ndtri(grid)))
    return 1.0 - k_sup * _z(float(alpha), two_sided) / jnp.sqrt(as_f64(n))


# --------------------------------------------------------------------------- comparison


class ScalingComparison(NamedTuple):
    """One row of :func:`compare_closed_form`: a distribution and a sample size."""

    dist_index: int
    n: int
    exact_ratio: float  # E[R_n] / E[R_inf], exact binomial / Clopper-Pearson expectation
    eq2_ratio: float  # Seferis et al.'s (2024) Eq. (2), 1 - 1.64 z_2s / sqrt(n)
    first_order_ratio: float  # 1 - K z_1s / sqrt(n), K = first_order_constant(dist)
    eq2_error: float  # eq2_ratio - exact_ratio
    first_order_error: float  # first_order_ratio - exact_ratio


def compare_closed_form(dists, ns, *, alpha=0.001, sigma) -> list[ScalingComparison]:
    r"""Exact mean-radius ratios against Seferis et al.'s (2024) Eq. (2) and the first-order law.

    For every distribution and ``n``: the exact ratio ``E[R_n] / E[R_inf]``, where
    ``E[R_inf] = E[sigma Phi^-1(p) 1{p > 1/2}]`` is the infinite-sample radius with the
    true ``p``; Eq. (2)'s ``1 - 1.64 z_2s / sqrt(n)``; the first-order
    ``1 - K z_1s / sqrt(n)`` with ``K`` from :func:`first_order_constant`; and the two
    errors (prediction minus exact). All ``n`` and distributions share one
    Clopper-Pearson table per ``n``.

    Args:
      dists: a distribution (``quadrature()`` method) or a sequence of them, length ``D``.
      ns: sample sizes, integers ``>= 1``, scalar or shape ``(m,)``.
      alpha: scalar significance level in ``(0, 1)``.
      sigma: scalar noise level ``> 0`` (the ratios do not depend on it).

    Returns:
      list of ``D * m`` :class:`ScalingComparison` rows, distribution-major.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [0.9], [1.0]
      >>> row = scaling.compare_closed_form(PointMass(), 10**4, alpha=0.001, sigma=1.0)[0]
      >>> round(row.exact_ratio, 3), round(row.first_order_ratio, 3)
      (0.959, 0.959)

    References:
      Seferis, Kollias & Cheng (2024), Eq. (2); the first-order law is derived for this
      project and verified by the proofs_check entries ``scaling.first_order_law`` and
      ``scaling.exact_expectation``.
    """
    if callable(getattr(dists, "quadrature", None)):
        dists = [dists]
    dists = list(dists)
    if not dists:
        raise ValueError("dists must hold at least one distribution")
    quads = [dist_quadrature(d, name=f"dists[{i}]") for i, d in enumerate(dists)]
    n_arr = check_sample_sizes(ns, name="ns")
    check_alpha(alpha)
    check_sigma(sigma)
    a, s = check_real(alpha, name="alpha"), check_real(sigma, name="sigma")
    res = exact_sums(quads, n_arr, a, s, np.zeros(1))
    sqrt_n = np.sqrt(n_arr.astype(np.float64))
    eq2 = 1.0 - P2_EQ2_CONSTANT * z_two_sided(a) / sqrt_n
    rows = []
    for d, (nodes, weights) in enumerate(quads):
        r_inf = float(weights @ np.asarray(certified_radius(nodes, sigma=s)))
        k = float(first_order_constant(dists[d]))
        fo = 1.0 - k * z_one_sided(a) / sqrt_n
        for j, n in enumerate(n_arr):
            exact = float(res.radius[d, j]) / r_inf
            rows.append(
                ScalingComparison(
                    d,
                    int(n),
                    exact,
                    float(eq2[j]),
                    float(fo[j]),
                    float(eq2[j]) - exact,
                    float(fo[j]) - exact,
                )
            )
    return rows


# 0.1 names, which said where the formula is printed rather than what it computes.
shore_radius_eq1 = renamed(shore_radius, "shore_radius_eq1")
ratio_eq2 = renamed(average_radius_ratio, "ratio_eq2")
accuracy_drop_eq3 = renamed(accuracy_drop_bound, "accuracy_drop_eq3")
