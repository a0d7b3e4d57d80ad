"""rstheory: the mathematics of randomized-smoothing certificates, in JAX float64.

Every bound is computed in float64 (``jax_enable_x64`` is turned on by the first module of
the package that uses JAX, :mod:`rstheory._jax`), since tail probabilities such as
``alpha = 1e-10`` at ``n = 1e6`` are not representable to the needed accuracy in float32.

The public names load on first use (PEP 562): ``import rstheory`` imports neither JAX nor
SciPy, so a command that only parses its arguments, or refuses a bad one, answers at once;
``rstheory.bounds``, ``rstheory.sequential`` or ``rstheory.cp_lower`` after a plain
``import rstheory`` import what they need when they are first touched.

Example:
  >>> import rstheory
  >>> float(rstheory.cp_lower(990, 1000, alpha=0.001)) > 0.97
  True
  >>> rstheory.cp_lower(990, 1000).dtype
  dtype('float64')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rstheory._lazy import lazy_module, names_by_module

if TYPE_CHECKING:
    from rstheory import (
        analyze,
        bounds,
        distributions,
        oracle,
        planning,
        predict,
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
    "analyze",
    "bounds",
    "certified_radius",
    "certify",
    "cp_interval",
    "cp_lower",
    "cp_upper",
    "distributions",
    "oracle",
    "planning",
    "predict",
    "published",
    "rows",
    "scaling",
    "sequential",
]
__version__ = "0.1.0"

# name -> the private module that defines it
_NAMES = names_by_module(
    {
        "rstheory._clopper_pearson": (
            "ConfidenceInterval",
            "cp_interval",
            "cp_lower",
            "cp_upper",
        ),
        "rstheory._radius": ("Certificate", "certified_radius", "certify"),
    }
)
__getattr__, __dir__ = lazy_module(
    globals(),
    submodules=(
        "analyze",
        "bounds",
        "distributions",
        "oracle",
        "planning",
        "predict",
        "published",
        "rows",
        "scaling",
        "sequential",
    ),
    names=_NAMES,
    all_names=__all__,
)
