r"""Randomized Clopper-Pearson bounds: exact size ``alpha`` with an auxiliary uniform.

With ``X ~ Bin(n, p)`` and an independent ``U ~ Uniform(0, 1)``, the randomized lower
bound is the ``p`` solving

.. math::
    g_{k,u}(p) = P_p[X > k] + u\, P_p[X = k] = \alpha .

``g`` increases in ``p`` (it is ``(1 - u) P[X >= k + 1] + u P[X >= k]``), so the root is
unique, and it decreases in ``u`` between the Clopper-Pearson bounds ``L(k + 1)``
(``u = 0``) and ``L(k)`` (``u = 1``). Coverage is exactly ``1 - alpha``: for a fixed
``p``, ``lower(k, u) <= p`` iff ``u >= (alpha - P[X > k]) / P[X = k]``; summing the
pmf times the chance of that event over ``k`` telescopes to ``1 - alpha``. The upper
bound is the mirror: ``upper(k, u) = 1 - lower(n - k, u)`` (solved on the mirrored
logit, so small upper bounds keep their relative precision).

Ends in closed form: at ``k = 0`` the root is ``1 - ((1 - alpha)/(1 - u))^(1/n)`` when
``u < alpha`` and ``0`` otherwise; at ``k = n`` it is ``(alpha / u)^(1/n)`` when
``u > alpha`` and ``1`` otherwise (the bound may equal 1: an exact-size test must reject
every ``p < 1`` with probability ``alpha``).

Interior ``1 <= k <= n - 1``: safeguarded Newton on ``log g`` in the logit
``t = log(p / (1 - p))``, bracketed in ``[-T_MAX, T_MAX]``, from the Wilson score bound at
the count ``k + 1 - u``, with ``jax.scipy.special.betainc`` for ``P[X >= k + 1] =
I_p(k + 1, n - k)``. It stops once every step is below ``STEP_TOL`` in ``t`` (a relative
change of ``p`` below ``1e-13``), so the accuracy is that of the tail evaluation
(``proofs_check.thm_bounds`` measures it against mpmath: about ``1e-12`` relative for
``n <= 1e4``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, gammaln, ndtri, xlogy

from rstheory import _jax  # noqa: F401  (float64 before any array)

__all__ = ["randomized_bound"]

T_MAX = 90.0  # |logit p| <= 90 covers p down to ~1e-39 (L(1, 1e8) at alpha = 1e-15 is 1e-23)
MAX_STEPS = 200  # bisection alone would reach 180 * 2**-200 in the logit
STEP_TOL = 1e-13  # a logit step below this moves p by less than 1e-13 relative


def _log_pmf(k, n, x, y):
    """log P[Bin(n, x) = k] with ``y = 1 - x`` given separately."""
    log_choose = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
    return log_choose + xlogy(k, x) + xlogy(n - k, y)


def _log_excess(t, k, n, u, log_alpha):
    """``(log g_{k,u}(p) - log alpha, its derivative in t)`` at ``p = sigmoid(t)``.

    ``d g / d t = pmf_k(p) [(1 - u)(n - k) p + u k (1 - p)]`` (from
    ``d P[X >= j] / dp = j pmf_j / p`` and ``(k + 1) pmf_{k+1} = (n - k) pmf_k p/(1 - p)``).
    """
    x, y = jax.nn.sigmoid(t), jax.nn.sigmoid(-t)
    pmf = jnp.exp(_log_pmf(k, n, x, y))
    g = betainc(k + 1.0, n - k, x) + u * pmf  # P[X >= k + 1] + u P[X = k]
    slope = pmf * ((1.0 - u) * (n - k) * x + u * k * y)
    return jnp.log(g) - log_alpha, slope / g


def _initial_logit(k, n, u, alpha):
    """Start: the Wilson score bound at the count ``k + 1 - u`` (between the CP neighbours)."""
    z = -ndtri(alpha)
    z2n = z * z / n
    p_hat = (k + 1.0 - u) / n
    center = (p_hat + 0.5 * z2n) / (1.0 + z2n)
    half = z / (1.0 + z2n) * jnp.sqrt(jnp.maximum(p_hat * (1.0 - p_hat), 0.0) / n + 0.25 * z2n / n)
    p0 = jnp.clip(center - half, 1e-30, 1.0 - 1e-15)
    return jnp.log(p0) - jnp.log1p(-p0)


def _interior_logit(k, n, u, alpha):
    """Logit of the root of ``g_{k,u}(p) = alpha`` (``1 <= k <= n - 1``).

    Newton on ``log g`` in the logit, safeguarded by a bracket that every evaluation
    narrows (a step leaving it, or a non-finite value, bisects instead); it stops when
    every element's step is below ``STEP_TOL`` or after ``MAX_STEPS`` steps.
    """
    log_alpha = jnp.log(alpha)

    def step(state):
        i, t, lo, hi, _ = state
        phi, dphi = _log_excess(t, k, n, u, log_alpha)
        above = phi >= 0.0
        lo, hi = jnp.where(above, lo, t), jnp.where(above, t, hi)
        newton = t - phi / dphi
        ok = jnp.isfinite(newton) & (newton >= lo) & (newton <= hi)
        new = jnp.where(ok, newton, 0.5 * (lo + hi))
        return i + 1, new, lo, hi, jnp.max(jnp.abs(new - t))

    def running(state):
        i, _, _, _, last_step = state
        return (i < MAX_STEPS) & (last_step > STEP_TOL)

    t0 = _initial_logit(k, n, u, alpha)
    lo, hi = jnp.full_like(k, -T_MAX), jnp.full_like(k, T_MAX)
    state = (0, t0, lo, hi, jnp.asarray(jnp.inf, dtype=t0.dtype))
    return jax.lax.while_loop(running, step, state)[1]


def _lower_logit_ends(k, n, u, alpha):
    """``(root, 1 - root)`` at the ends ``k = 0`` and ``k = n`` (closed forms)."""
    # k = 0: (1 - p)^n = (1 - alpha)/(1 - u) when u < alpha, else p = 0.
    log_q0 = (jnp.log1p(-alpha) - jnp.log1p(-jnp.minimum(u, alpha))) / n
    at0 = jnp.where(u < alpha, -jnp.expm1(log_q0), 0.0)
    at0_c = jnp.where(u < alpha, jnp.exp(log_q0), 1.0)
    # k = n: p^n = alpha / u when u > alpha, else p = 1.
    log_pn = (jnp.log(alpha) - jnp.log(jnp.maximum(u, alpha))) / n
    atn = jnp.where(u > alpha, jnp.exp(log_pn), 1.0)
    atn_c = jnp.where(u > alpha, -jnp.expm1(log_pn), 0.0)
    return at0, at0_c, atn, atn_c


def randomized_bound(k, n, alpha, u, upper):
    """Randomized Clopper-Pearson bound (JAX, elementwise, float64 of equal shapes).

    Args:
      k, n: integer-valued float arrays, ``0 <= k <= n``, ``n >= 1``.
      alpha: level in ``(0, 1)``.
      u: the auxiliary uniform in ``[0, 1]``.
      upper: nonzero for the upper bound.

    Returns:
      The lower bound (root of ``P[X > k] + u P[X = k] = alpha``) or the upper bound
      (``1 -`` the lower bound of ``n - k``), of the common shape.
    """
    mirrored = upper != 0
    kk = jnp.where(mirrored, n - k, k)
    interior = (kk >= 1.0) & (kk <= n - 1.0)
    t = _interior_logit(jnp.where(interior, kk, 1.0), jnp.where(interior, n, 2.0), u, alpha)
    at0, at0_c, atn, atn_c = _lower_logit_ends(kk, n, u, alpha)
    root = jnp.where(interior, jax.nn.sigmoid(t), jnp.where(kk == 0, at0, atn))
    root_c = jnp.where(interior, jax.nn.sigmoid(-t), jnp.where(kk == 0, at0_c, atn_c))
    return jnp.where(mirrored, root_c, root)
