"""The planner's two entry points on a quadrature, shared by its JAX and SciPy paths.

:func:`rstheory.planning.required_samples` (:mod:`rstheory._planning`, JAX) and its twin
without JAX (:mod:`rstheory._plan_scipy`) differ only in how they integrate a law: its
quadrature, its first-order constant and its exact curves ``E[R_n]`` and ``acc_n(r_0)``.
The rest is here, in NumPy only (no JAX is imported): the checks of ``alpha``, ``sigma``
and ``n_max``, the targets passed to the search of :mod:`rstheory._plan_search` (which
checks them and returns its :class:`~rstheory._plan_search.Plan`), and the reason the
closed-form estimate is missing.

Example:
  >>> import numpy as np
  >>> from rstheory._plan_entry import closed_form_reason
  >>> closed_form_reason(np.array([0.9]), np.ones(1), constant=lambda: 1.0, sigma=1.0,
  ...                    target_accuracy=0.5, at_radius=0.1)[:25]
  'an accuracy target has no'
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rstheory._plan_search import Plan, reason, solve
from rstheory._validation import check_alpha, check_int, check_real, check_sigma

__all__ = ["closed_form_reason", "required_samples"]

# Builds the exact curves (mean_radius(ns), accuracy(ns, r0)) at validated alpha and sigma.
Curves = Callable[[float, float], tuple[Callable, Callable]]


def required_samples(
    nodes: np.ndarray,
    weights: np.ndarray,
    *,
    constant: Callable[[], float],
    curves: Curves,
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
    n_max=10**7,
) -> Plan:
    """:func:`rstheory.planning.required_samples` of a law given by its quadrature.

    ``nodes, weights``: the law's quadrature (1-D float64); ``constant()``: its first-order
    constant (called once the settings are checked); ``curves(alpha, sigma)``: its exact
    ``(mean_radius, accuracy)`` evaluators for the search. The other arguments and the
    :class:`~rstheory._plan_search.Plan` returned are those of the public function.
    """
    check_alpha(alpha)
    check_sigma(sigma)
    alpha = check_real(alpha, name="alpha")
    sigma = check_real(sigma, name="sigma")
    n_max = check_int(n_max, name="n_max")
    c = constant()
    mean_radius, accuracy = curves(alpha, sigma)
    return solve(
        nodes,
        weights,
        c=c,
        alpha=alpha,
        sigma=sigma,
        mean_radius=mean_radius,
        accuracy=accuracy,
        target_ratio=target_ratio,
        reference_n=reference_n,
        target_radius=target_radius,
        target_accuracy=target_accuracy,
        at_radius=at_radius,
        n_max=n_max,
    )


def closed_form_reason(
    nodes: np.ndarray,
    weights: np.ndarray,
    *,
    constant: Callable[[], float],
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
) -> str | None:
    """:func:`rstheory._planning.closed_form_reason` of a law given by its quadrature.

    ``constant()``: the law's first-order constant (called once ``alpha`` and ``sigma``
    are read); the other arguments are those of the public function.
    """
    del at_radius  # the accuracy target's radius changes nothing here
    alpha = check_real(alpha, name="alpha")
    sigma = check_real(sigma, name="sigma")
    targets = {
        "target_ratio": target_ratio,
        "reference_n": reference_n,
        "target_radius": target_radius,
        "target_accuracy": target_accuracy,
    }
    return reason(nodes, weights, c=constant(), alpha=alpha, sigma=sigma, targets=targets)
