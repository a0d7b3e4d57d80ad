r"""Simultaneous bounds on the top and runner-up class probabilities, and the two-class radius.

Counts ``c = (c_1, ..., c_K)`` of ``n = sum c`` votes are multinomial with probabilities
``(p_1, ..., p_K)``. For a class ``A`` and ``B`` the runner-up among the others,

* Bonferroni: ``pA_lower = CP_lower(c_A, n, alpha/2)`` and
  ``pB_upper = min(CP_upper(c_B, n, alpha/2), 1 - pA_lower)`` with ``c_B = max_{j != A} c_j``.

**Guarantee.** If ``A`` is fixed before the counts are drawn (e.g. chosen on a separate
selection sample, as in CERTIFY of Cohen et al. 2019), then with probability at least
``1 - alpha``, simultaneously, ``pA_lower <= p_A`` and ``pB_upper >= max_{j != A} p_j``.
Proof: let ``j*`` be the largest of the ``p_j``, ``j != A`` (fixed once ``A`` is). The
events ``{CP_lower(c_A) <= p_A}`` and ``{CP_upper(c_{j*}) >= p_{j*}}`` each fail with
probability at most ``alpha/2`` (each count is binomial); on both,
``CP_upper(c_B) >= CP_upper(c_{j*}) >= p_{j*}`` since ``c_B >= c_{j*}`` and the upper
bound increases in the count, and ``p_{j*} <= 1 - p_A <= 1 - pA_lower``. ``B`` may
therefore be the data's runner-up. When ``A`` is the argmax of the *same* counts (the
default here), a union bound over the ``K`` possible selections gives only ``K alpha``
for ``K >= 3``; for ``K = 2`` the two bounds are one event (``c_B = n - c_A``, so
``pB_upper = 1 - pA_lower``) whose failure is the union over the two classes of
``{class j selected, CP_lower(c_j, alpha/2) > p_j}``, at most ``alpha``. Pass ``top=``
from a selection sample for the guarantee at ``K >= 3``.

**Radius.** ``R_2 = sigma/2 (Phi^-1(pA_lower) - Phi^-1(pB_upper))`` (Cohen et al. 2019,
Thm 1), 0 where ``pA_lower <= pB_upper``. Because ``pB_upper <= 1 - pA_lower``,
``R_2 >= sigma Phi^-1(pA_lower)``: never below the one-class radius built from the
*same* ``pA_lower`` (level ``alpha/2``). It can be below the one-class radius at level
``alpha`` (``sigma Phi^-1(CP_lower(c_A, n, alpha))``): with two classes
(``c_B = n - c_A``) the two bounds coincide, ``pB_upper = 1 - pA_lower``, and ``R_2`` is
the one-class radius at ``alpha/2``, strictly smaller whenever it is positive.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import jax
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._clopper_pearson import bound_unchecked
from rstheory._deprecation import keyword_only
from rstheory._radius import certified_radius
from rstheory._validation import check_alpha, check_sigma

__all__ = ["SimultaneousBounds", "simultaneous_bounds", "two_class_radius"]

SimultaneousMethod = Literal["bonferroni"]
"""The ``method=`` of :func:`simultaneous_bounds`."""

SIMULTANEOUS_METHODS: tuple[SimultaneousMethod, ...] = get_args(SimultaneousMethod)


class SimultaneousBounds(NamedTuple):
    """Result of :func:`simultaneous_bounds`; every field has shape ``(*batch)``.

    Attributes:
      pa_lower: lower bound on ``p_A``.
      pb_upper: upper bound on ``max_{j != A} p_j``.
      top: index ``A`` (int).
      runner_up: index ``B`` (int), the largest count among the other classes.
    """

    pa_lower: jax.Array
    pb_upper: jax.Array
    top: np.ndarray
    runner_up: np.ndarray


def _check_class_counts(counts) -> np.ndarray:
    c = np.asarray(counts)
    if c.dtype == bool or not np.issubdtype(c.dtype, np.number):
        raise ValueError(f"counts must be numeric, got dtype {c.dtype}")
    if c.ndim < 1 or c.shape[-1] < 2:
        raise ValueError(
            f"counts must have shape (*batch, K) with K >= 2 classes, got shape {c.shape}"
        )
    if not np.all(np.isfinite(c)) or np.any(c != np.round(c)) or np.any(c < 0):
        raise ValueError("counts must be integers >= 0")
    if np.any(c.sum(axis=-1) < 1):
        raise ValueError("counts must sum to n >= 1 along the last axis")
    return c.astype(np.int64)


def _check_top(top, c: np.ndarray) -> np.ndarray:
    if top is None:
        return np.argmax(c, axis=-1)
    t = np.asarray(top)
    num_classes = c.shape[-1]
    if not np.issubdtype(t.dtype, np.integer) or np.any(t < 0) or np.any(t >= num_classes):
        raise ValueError(
            f"top must hold integer class indices in [0, {num_classes - 1}], got {top!r}"
        )
    return np.broadcast_to(t, c.shape[:-1])


def _runner_up(c: np.ndarray, top: np.ndarray) -> np.ndarray:
    others = np.where(np.arange(c.shape[-1]) == top[..., None], -1, c)
    return np.argmax(others, axis=-1)


@keyword_only("alpha")
def simultaneous_bounds(
    counts, *, alpha=0.001, method: SimultaneousMethod = "bonferroni", top=None
) -> SimultaneousBounds:
    r"""``pA_lower`` and ``pB_upper`` holding simultaneously with probability ``>= 1 - alpha``.

    Args:
      counts: class counts, integers ``>= 0`` of shape ``(*batch, K)``, ``K >= 2``,
        summing to ``n >= 1`` along the last axis.
      alpha: joint error level in ``(0, 1)``.
      method: ``"bonferroni"`` (each bound a one-sided Clopper-Pearson bound at
        ``alpha / 2``; ``pB_upper`` also capped at ``1 - pA_lower``).
      top: class index ``A`` of shape ``(*batch)`` (broadcasts); default the argmax of
        ``counts``. The guarantee needs ``A`` fixed independently of ``counts`` (see
        the module docstring); the runner-up ``B`` is always taken from ``counts``.

    Returns:
      :class:`SimultaneousBounds` ``(pa_lower, pb_upper, top, runner_up)``.

    Example:
      >>> from rstheory.bounds import simultaneous_bounds
      >>> b = simultaneous_bounds([80, 15, 5], alpha=0.05)
      >>> round(float(b.pa_lower), 4), round(float(b.pb_upper), 4), int(b.top), int(b.runner_up)
      (0.7082, 0.2353, 0, 1)
    """
    if method not in SIMULTANEOUS_METHODS:
        raise ValueError(f"method must be one of {list(SIMULTANEOUS_METHODS)}, got {method!r}")
    c = _check_class_counts(counts)
    check_alpha(alpha)
    top_idx = _check_top(top, c)
    b_idx = _runner_up(c, top_idx)
    n = c.sum(axis=-1)
    k_a = np.take_along_axis(c, top_idx[..., None], axis=-1)[..., 0]
    k_b = np.take_along_axis(c, b_idx[..., None], axis=-1)[..., 0]
    half = 0.5 * np.asarray(alpha, dtype=np.float64)
    pa_lower = bound_unchecked(k_a, n, half, False)
    pb_upper = jax.numpy.minimum(bound_unchecked(k_b, n, half, True), 1.0 - pa_lower)
    return SimultaneousBounds(pa_lower, pb_upper, top_idx, b_idx)


@keyword_only("alpha", "sigma")
def two_class_radius(counts, *, sigma, alpha=0.001, top=None):
    r"""Two-class certified radius ``sigma/2 (Phi^-1(pA_lower) - Phi^-1(pB_upper))``.

    The bounds are :func:`simultaneous_bounds` (Bonferroni, joint level ``alpha``); the
    radius is :func:`rstheory.certified_radius` with ``p_b_upper``, ``0`` (abstain) where
    ``pA_lower <= pB_upper``. It is at least ``sigma Phi^-1(pA_lower)`` for the same
    ``pA_lower`` (see the module docstring for what holds against the one-class radius).

    Args:
      counts: ``(*batch, K)`` class counts, as :func:`simultaneous_bounds`.
      alpha: joint error level in ``(0, 1)``.
      sigma: noise level ``> 0``; broadcasts with ``(*batch)``.
      top: optional class index ``A`` (see :func:`simultaneous_bounds`).

    Returns:
      float64 radius of shape ``(*batch)``.

    Example:
      >>> from rstheory.bounds import two_class_radius
      >>> round(float(two_class_radius([80, 15, 5], alpha=0.05, sigma=0.5)), 4)
      0.3174
    """
    check_sigma(sigma)
    b = simultaneous_bounds(counts, alpha=alpha, top=top)
    return certified_radius(b.pa_lower, sigma=sigma, p_b_upper=b.pb_upper)
