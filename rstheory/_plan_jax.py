"""``rstheory plan`` on the JAX path: the functions of :mod:`rstheory._plan_scipy`, for every
model of :mod:`rstheory.distributions` (a fitted or empirical law too).

Each is the public function it names (:func:`rstheory.planning.required_samples`,
:func:`rstheory.scaling.radius_cap`, :func:`rstheory.scaling.average_radius_ratio`, the
exact sums of :mod:`rstheory._exact`) with the arguments and results of its SciPy twin,
so :mod:`rstheory._cli_plan` computes a plan the same way on either path.

Example:
  >>> from rstheory import distributions
  >>> from rstheory._plan_jax import exact_curves
  >>> out = exact_curves(distributions.PointMass(0.9), [100], alpha=0.001, sigma=1.0)
  >>> round(float(out.radius[0]), 4), round(float(out.accuracy[0, 0]), 4)
  (0.7671, 1.0)
"""

from __future__ import annotations

import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._plan_sums import RadiusAccuracy

__all__ = [
    "closed_form_reason",
    "eq2_ratio",
    "exact_curves",
    "radius_cap",
    "required_samples",
]


def exact_curves(dist, n, *, alpha=0.001, sigma, radius=0.0) -> RadiusAccuracy:
    """:func:`rstheory._plan_scipy.exact_curves` by :func:`rstheory._exact.exact_for`."""
    from rstheory._exact import exact_for

    exact = exact_for(dist, n, alpha, sigma, radii=(radius,))
    return RadiusAccuracy(exact.radius[0], exact.accuracy[0])


def required_samples(dist, **kw):
    """:func:`rstheory.planning.required_samples`."""
    from rstheory import planning

    return planning.required_samples(dist, **kw)


def closed_form_reason(dist, **kw) -> str | None:
    """:func:`rstheory._planning.closed_form_reason`."""
    from rstheory._planning import closed_form_reason as reason

    return reason(dist, **kw)


def radius_cap(n, *, alpha=0.001, sigma) -> np.ndarray:
    """:func:`rstheory.scaling.radius_cap` as a NumPy array."""
    from rstheory import scaling

    return np.asarray(scaling.radius_cap(n, alpha=alpha, sigma=sigma))


def eq2_ratio(n, *, alpha=0.001) -> np.ndarray:
    """:func:`rstheory.scaling.average_radius_ratio` as a NumPy array."""
    from rstheory import scaling

    return np.asarray(scaling.average_radius_ratio(n, alpha=alpha))
