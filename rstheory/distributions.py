"""Models of Pr(p_A), the distribution of top-class probabilities over a dataset.

Public names of :mod:`rstheory._distributions`. Every model offers ``quadrature(num)``
(host float64 nodes and weights, atoms exact), ``sample``, ``mean``, ``variance``, ``cdf``,
``density`` and ``atoms``; :func:`fit` estimates atoms-plus-Beta from pilot vote counts.
"""

from rstheory._distributions import (
    Beta,
    Empirical,
    FitResult,
    Mixture,
    PointMass,
    Uniform,
    beta_atoms_log_likelihood,
    fit,
)

__all__ = [
    "Beta",
    "Empirical",
    "FitResult",
    "Mixture",
    "PointMass",
    "Uniform",
    "beta_atoms_log_likelihood",
    "fit",
]
