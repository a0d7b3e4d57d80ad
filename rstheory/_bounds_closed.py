r"""Closed-form lower bounds on a binomial proportion (JAX, elementwise).

Each function maps float64 arrays ``k, n, alpha`` of equal shape to the one-sided lower
bound of :mod:`rstheory.bounds`; upper bounds are the mirror ``1 - lower(n - k)``, since
each method is symmetric under relabelling successes and failures.

* Hoeffding (1963), Thm 1 (its Eq. 2.3 bound ``exp(-2 n t^2)``): ``P[p_hat - p >= t] <=
  exp(-2 n t^2)``; setting it to ``alpha`` gives ``p_hat - sqrt(log(1/alpha) / (2 n))``.
* Empirical Bernstein, Maurer & Pontil (2009), Thm 4: for i.i.d. ``Z_i`` in ``[0, 1]``
  and ``n >= 2``, with probability at least ``1 - delta``,

  .. math::
      E Z \le \bar Z + \sqrt{\frac{2 V_n \log(2/\delta)}{n}} + \frac{7 \log(2/\delta)}{3 (n - 1)},

  ``V_n`` the unbiased sample variance. Applied to ``Z = 1 - X`` with Bernoulli ``X``
  (``V_n = k (n - k) / (n (n - 1))``) it gives the lower bound
  ``p_hat - sqrt(2 V_n log(2/alpha) / n) - 7 log(2/alpha) / (3 (n - 1))``; at ``n = 1``
  the theorem says nothing and the bound is ``0``.
* Wilson (1927) score bound with ``z = Phi^-1(1 - alpha)``: the smaller root of
  ``(p_hat - p)^2 = z^2 p (1 - p) / n``. An approximation (normal limit), not a valid
  bound at every ``(p, n)``.

All are clipped to ``[0, 1]``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtri

from rstheory import _jax  # noqa: F401  (float64 before any array)

__all__ = ["empirical_bernstein_lower", "hoeffding_lower", "wilson_lower"]


def hoeffding_lower(k, n, alpha):
    """``max(0, k/n - sqrt(log(1/alpha) / (2n)))``."""
    return jnp.clip(k / n - jnp.sqrt(-jnp.log(alpha) / (2.0 * n)), 0.0, 1.0)


def empirical_bernstein_lower(k, n, alpha):
    """Maurer-Pontil Thm 4 lower bound with the Bernoulli sample variance; ``0`` at ``n = 1``."""
    n_minus_1 = jnp.maximum(n - 1.0, 1.0)
    variance = k * (n - k) / (n * n_minus_1)
    log_term = jnp.log(2.0 / alpha)
    bound = k / n - jnp.sqrt(2.0 * variance * log_term / n) - 7.0 * log_term / (3.0 * n_minus_1)
    return jnp.where(n >= 2.0, jnp.clip(bound, 0.0, 1.0), 0.0)


def wilson_lower(k, n, alpha):
    """Lower Wilson score bound, ``z = Phi^-1(1 - alpha)`` (approximate)."""
    z = -ndtri(alpha)
    p_hat = k / n
    z2n = z * z / n
    center = (p_hat + 0.5 * z2n) / (1.0 + z2n)
    half = z / (1.0 + z2n) * jnp.sqrt(p_hat * (1.0 - p_hat) / n + 0.25 * z2n / n)
    return jnp.where(k == 0, 0.0, jnp.clip(center - half, 0.0, 1.0))  # exactly 0 at k = 0
