"""What the scaling-law checks share: the grids and the float64 closed-form tolerance used by
several theorems, the values printed by the derivations they restate, and the lookup of the
functions under test in :mod:`rstheory.scaling`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["ALPHA", "ALPHAS", "RTOL_CLOSED_FORM", "SIGMAS", "THEORY_K", "f64", "rstheory_scaling"]

# A float64 closed form of a few roundings (alpha**(1/n), ndtri, powers, one square root):
# a few hundred ulps at most; the project's tolerance for float64 closed forms.
RTOL_CLOSED_FORM = 1e-13

ALPHA = 0.001

ALPHAS = (1e-6, 1e-3, 0.05)

SIGMAS = (0.25, 1.0)

# K for U[0.5, 1] (exact quantile), K(p) and its sup over [0.7, 0.99], as derived for this
# project (scaling.first_order_constant, scaling.distribution_free_bound).
THEORY_K = {
    "U[0.5,1]": 2.024,
    0.7: 2.51,
    0.8: 1.70,
    0.9: 1.33,
    0.95: 1.29,
    0.99: 1.61,
    "sup[0.7,0.99]": 2.52,
}


def rstheory_scaling(name: str) -> Callable:
    """rstheory.scaling's ``name``, imported when a check runs (so the registry still
    imports, and reports the check as failed, when rstheory lacks the function)."""
    from rstheory import scaling

    return getattr(scaling, name)


def f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
