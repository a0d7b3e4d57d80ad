r"""Certified radius of every count of a table, without JAX: the tables of ``rstheory plan``.

For counts ``k`` of one sample size ``n`` the radius

.. math::
    R(k) = \sigma\,\Phi^{-1}\big(\underline p(k, n, \alpha)\big)\ \text{if}\
    \underline p > 1/2,\ \text{else}\ 0,
    \qquad I_{\underline p}(k,\, n - k + 1) = \alpha,

is the radius of :func:`rstheory.certified_radius` at the one-sided Clopper-Pearson bound
(Clopper & Pearson 1934; Cohen et al. 2019, Theorem 1), computed with SciPy's special
functions only: the same method as :mod:`rstheory._clopper_pearson_scalar`, vectorized
over ``k`` (SciPy's ``betaincinv`` as the start, ``POLISH_STEPS`` Newton steps on the
logit with the exact slope); along a sorted table the inverse, the costly part, is formed
at every ``_STRIDE``-th count and interpolated between, Newton's steps doing the rest (a
count whose steps do not converge starts again from its own inverse). A count certifies
exactly when ``I_{1/2}(k, n - k + 1) < alpha`` (``I_x`` increases in ``x``), so the bound
is only formed for those counts.
The ends are closed forms: ``0`` at ``k = 0`` and ``alpha ** (1 / n)`` at ``k = n``.

``tests/rstheory/test_plan_scipy.py`` compares the table with the JAX path's
(:func:`rstheory._exact.cp_lower_fixed_shape` and :func:`rstheory.certified_radius`).

Example:
  >>> import numpy as np
  >>> from rstheory._plan_cp import radius_table
  >>> [round(float(r), 6) for r in radius_table(np.array([500, 990, 1000]), 1000,
  ...                                              alpha=0.001, sigma=1.0)]
  [0.0, 1.97801, 2.463263]
"""

from __future__ import annotations

import numpy as np
import scipy.special

from rstheory._clopper_pearson_scalar import POLISH_STEPS

__all__ = ["cp_lower_array", "radius_table"]


def _log_expit(u: np.ndarray) -> np.ndarray:
    """``log(1 / (1 + exp(-u)))`` without overflow."""
    return -np.logaddexp(0.0, -u)


# Counts between two of SciPy's inverses: the others start from the logit interpolated
# between them (Newton's steps then converge from there), and any that do not converge
# start again from their own inverse.
_STRIDE = 16
# A Newton step on the logit below this (relative) is converged.
_CONVERGED = 1e-12


def _polish(a: np.ndarray, b: np.ndarray, alpha: float, u: np.ndarray):
    """``POLISH_STEPS`` Newton steps on ``g(u) = log I_{expit(u)}(a, b) - log alpha``; the
    logits and whether the last step was below ``_CONVERGED``."""
    log_alpha, log_beta = np.log(alpha), scipy.special.betaln(a, b)
    step, ok = np.zeros_like(u), np.ones(u.shape, dtype=bool)
    for _ in range(POLISH_STEPS):
        t = scipy.special.betainc(a, b, scipy.special.expit(u))
        ok = t > 0.0  # underflow far from the root: keep the start
        log_t = np.log(np.where(ok, t, 1.0))
        log_density = a * _log_expit(u) + b * _log_expit(-u) - log_beta  # dI/du
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = (log_t - log_alpha) / np.exp(log_density - log_t)
        step = np.where(ok, step, 0.0)
        u = np.where(np.isfinite(step), u - step, u)
    # Converged: a last step that was taken (no underflow) and small.
    return u, ok & (np.abs(step) <= _CONVERGED * np.maximum(1.0, np.abs(u)))


def _logit_start(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """The logit of SciPy's inverse ``I^-1_alpha(a, b)``, clipped inside ``(0, 1)``."""
    x0 = np.clip(scipy.special.betaincinv(a, b, alpha), 1e-300, 1.0 - 1e-16)
    return np.log(x0) - np.log1p(-x0)


def cp_lower_array(k: np.ndarray, n: int, *, alpha: float) -> np.ndarray:
    """One-sided ``(1 - alpha)`` lower Clopper-Pearson bounds of counts ``k`` out of ``n``.

    ``k``: integer-valued array of shape ``(m,)``, ``0 <= k <= n`` (not checked: the
    tables of :mod:`rstheory._plan_sums` pass valid counts); returns float64 ``(m,)``.
    For sorted ``k`` (the tables) SciPy's inverse is formed at every ``_STRIDE``-th count
    only, the others starting from the interpolated logit; every bound is the polished
    root either way.
    """
    k = np.asarray(k, dtype=np.float64)
    out = np.empty(k.shape)
    out[k == 0] = 0.0
    out[k == n] = alpha ** (1.0 / n)
    inner = (k > 0) & (k < n)
    a = k[inner]
    b = n - a + 1.0
    if a.size > 2 * _STRIDE and np.all(np.diff(a) > 0):
        anchors = np.unique(np.r_[np.arange(0, a.size, _STRIDE), a.size - 1])
        u0 = np.interp(a, a[anchors], _logit_start(a[anchors], b[anchors], alpha))
    else:
        u0 = _logit_start(a, b, alpha)
    u, converged = _polish(a, b, alpha, u0)
    if not converged.all():  # start again from SciPy's inverse
        redo = ~converged
        u[redo] = _polish(a[redo], b[redo], alpha, _logit_start(a[redo], b[redo], alpha))[0]
    out[inner] = scipy.special.expit(u)
    return out


def radius_table(k: np.ndarray, n: int, *, alpha: float, sigma: float) -> np.ndarray:
    """``R(k)`` for the counts ``k`` (shape ``(m,)``) out of ``n``: float64 ``(m,)``, 0 where
    the bound is ``<= 1/2`` (abstention)."""
    k = np.asarray(k, dtype=np.float64)
    radius = np.zeros(k.shape)
    # cp_lower(k) > 1/2  <=>  I_{1/2}(k, n - k + 1) < alpha; k = 0 never certifies.
    certifies = (k > 0) & (scipy.special.betainc(np.maximum(k, 1.0), n - k + 1.0, 0.5) < alpha)
    p_low = cp_lower_array(k[certifies], n, alpha=alpha)
    radius[certifies] = np.where(p_low > 0.5, sigma * scipy.special.ndtri(p_low), 0.0)
    return radius
