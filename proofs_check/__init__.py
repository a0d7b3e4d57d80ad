"""proofs_check: the theorems behind rstheory, each with a sympy derivation and an mpmath
check of rstheory's float64 numbers.

Importing the package registers every theorem; ``python -m proofs_check`` runs all checks,
prints a report and exits non-zero when one fails.
"""

from proofs_check import (  # noqa: F401  (register on import)
    thm_bounds,
    thm_clopper_pearson,
    thm_oracle,
    thm_predict,
    thm_radius,
    thm_scaling,
    thm_sequential,
)
from proofs_check._registry import *  # noqa: F403  (the names of its __all__)
from proofs_check._registry import __all__  # noqa: F401
