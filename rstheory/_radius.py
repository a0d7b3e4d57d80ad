"""Certified L2 radius of a Gaussian-smoothed classifier, and the certificate.

Cohen, Rosenfeld & Kolter (2019), Theorem 1: if ``pA_lower <= p_A`` and
``pB_upper >= max_{c != A} p_c`` with ``pA_lower > pB_upper``, the smoothed
classifier is constant on the L2 ball of radius

    R = sigma / 2 * (Phi^-1(pA_lower) - Phi^-1(pB_upper)),

and with ``pB_upper = 1 - pA_lower`` this is ``sigma * Phi^-1(pA_lower)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from rstheory._clopper_pearson import cp_lower
from rstheory._validation import as_f64, check_alpha, check_counts, check_probability, check_sigma, is_traced

__all__ = ["Certificate", "certified_radius", "certify"]


class Certificate(NamedTuple):
    """Result of :func:`certify`; a pytree, so it passes through ``jit`` and ``vmap``.

    Attributes:
      p_lower: one-sided ``(1 - alpha)`` Clopper-Pearson lower bound on ``p_A``, ``(*batch)``.
      radius: certified L2 radius, ``0`` where abstained, ``(*batch)``.
      abstained: boolean, ``True`` where ``p_lower <= 1/2`` (no certificate), ``(*batch)``.
    """

    p_lower: jax.Array
    radius: jax.Array
    abstained: jax.Array


def _radius_one_class(p_lower, sigma):
    # p_lower <= 1/2 abstains; ndtri(1) = inf cannot occur for a CP bound (alpha > 0).
    safe = jnp.where(p_lower > 0.5, p_lower, 0.75)
    return jnp.where(p_lower > 0.5, sigma * ndtri(safe), 0.0)


def _radius_two_class(pa_lower, pb_upper, sigma):
    ok = pa_lower > pb_upper
    pa = jnp.where(ok, pa_lower, 0.75)
    pb = jnp.where(ok, pb_upper, 0.25)
    return jnp.where(ok, 0.5 * sigma * (ndtri(pa) - ndtri(pb)), 0.0)


_radius_one_class_jit = jax.jit(_radius_one_class)
_radius_two_class_jit = jax.jit(_radius_two_class)


def certified_radius(p_lower, sigma, *, p_b_upper=None):
    r"""Certified L2 radius from a lower bound on the top-class probability.

    .. math::
        R = \sigma\,\Phi^{-1}(\underline{p_A}) \ \text{if}\ \underline{p_A} > 1/2,\ \text{else } 0;
        \qquad
        R = \tfrac{\sigma}{2}\big(\Phi^{-1}(\underline{p_A}) - \Phi^{-1}(\overline{p_B})\big)
        \ \text{if}\ \underline{p_A} > \overline{p_B},\ \text{else } 0.

    Args:
      p_lower: lower bound on ``p_A`` in ``[0, 1]``, shape ``(*batch)``.
      sigma: noise standard deviation ``> 0`` (pixel units); broadcasts.
      p_b_upper: optional upper bound on the runner-up probability ``p_B`` in
        ``[0, 1]``; when given, the two-class form is used.

    Returns:
      float64 radius of the broadcast shape, ``0`` where no certificate exists.

    Notes:
      ``p_lower = 1`` gives ``inf`` (certain top class, any perturbation); a
      Clopper-Pearson bound never reaches 1 for ``alpha > 0``: with ``n`` samples the
      radius is at most ``sigma * Phi^-1(alpha ** (1 / n))``.

    Example:
      >>> import rstheory
      >>> round(float(rstheory.certified_radius(0.99, 0.5)), 6)
      1.163174

    References:
      J. Cohen, E. Rosenfeld, J. Z. Kolter (2019), ICML, Theorem 1.
    """
    check_probability(p_lower, name="p_lower")
    check_sigma(sigma)
    if p_b_upper is None:
        return _radius_one_class_jit(as_f64(p_lower), as_f64(sigma))
    check_probability(p_b_upper, name="p_b_upper")
    return _radius_two_class_jit(as_f64(p_lower), as_f64(p_b_upper), as_f64(sigma))


@jax.jit
def _certificate(p_lower, sigma):
    return Certificate(p_lower, _radius_one_class(p_lower, sigma), p_lower <= 0.5)


def certify(k, n, *, alpha, sigma) -> Certificate:
    r"""Certificate from top-class vote counts (Cohen et al. 2019, CERTIFY, step 3-4).

    ``p_lower = cp_lower(k, n, alpha)``; abstain when ``p_lower <= 1/2``, else the
    radius is ``sigma * Phi^-1(p_lower)``. With probability at least ``1 - alpha``
    over the ``n`` estimation samples, a returned radius is valid.

    Args:
      k: votes for the selected class among the ``n`` estimation samples, ``(*batch)``.
      n: estimation samples ``>= 1``; broadcasts with ``k``.
      alpha: significance level in ``(0, 1)``.
      sigma: noise standard deviation ``> 0``.

    Returns:
      :class:`Certificate` with fields ``p_lower``, ``radius``, ``abstained`` of shape ``(*batch)``.

    Example:
      >>> import rstheory
      >>> c = rstheory.certify([990, 400], 1000, alpha=0.001, sigma=0.25)
      >>> [round(float(r), 4) for r in c.radius], c.abstained.tolist()
      ([0.4945, 0.0], [False, True])
    """
    check_counts(k, n)
    check_alpha(alpha)
    check_sigma(sigma)
    p_lower = cp_lower(k, n, alpha)
    sigma = sigma if is_traced(sigma) else as_f64(sigma)
    return _certificate(*jnp.broadcast_arrays(p_lower, sigma))
