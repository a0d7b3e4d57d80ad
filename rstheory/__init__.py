"""rstheory: the mathematics of randomized-smoothing certificates, in JAX float64.

Importing :mod:`rstheory` turns on ``jax_enable_x64``: every bound is computed in
float64, since tail probabilities such as ``alpha = 1e-10`` at ``n = 1e6`` are
not representable to the needed accuracy in float32. Every public submodule is
imported with the package, so ``rstheory.bounds`` and ``rstheory.sequential``
work after a plain ``import rstheory``.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

# ruff: noqa: E402  (the x64 switch above must come before any JAX array is made)
from rstheory import (
    bounds,
    distributions,
    oracle,
    planning,
    published,
    rows,
    scaling,
    sequential,
)
from rstheory._clopper_pearson import ConfidenceInterval, cp_interval, cp_lower, cp_upper
from rstheory._radius import Certificate, certified_radius, certify

__all__ = [
    "Certificate",
    "ConfidenceInterval",
    "bounds",
    "certified_radius",
    "certify",
    "cp_interval",
    "cp_lower",
    "cp_upper",
    "distributions",
    "oracle",
    "planning",
    "published",
    "rows",
    "scaling",
    "sequential",
]
__version__ = "0.1.0"
