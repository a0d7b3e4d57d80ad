"""rstheory: the mathematics of randomized-smoothing certificates, in JAX float64.

Importing :mod:`rstheory` turns on ``jax_enable_x64``: every bound is computed in
float64, since tail probabilities such as ``alpha = 1e-10`` at ``n = 1e6`` are
not representable to the needed accuracy in float32.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from rstheory._clopper_pearson import ConfidenceInterval, cp_interval, cp_lower, cp_upper  # noqa: E402
from rstheory._radius import Certificate, certified_radius, certify  # noqa: E402
from rstheory import oracle  # noqa: E402
from rstheory import scaling  # noqa: E402
from rstheory import distributions  # noqa: E402
from rstheory import planning  # noqa: E402
from rstheory import published  # noqa: E402

__all__ = [
    "Certificate",
    "ConfidenceInterval",
    "certified_radius",
    "certify",
    "cp_interval",
    "cp_lower",
    "cp_upper",
    "distributions",
    "oracle",
    "planning",
    "published",
    "scaling",
]
__version__ = "0.1.0"
