"""Scaling laws of randomized-smoothing certificates in the sample size ``n``.

Public names of :mod:`rstheory._scaling`: exact expectations over a distribution of the
true top-class probability (radius, certified accuracy, abstention, lower bound), the
radius cap, the closed forms of Seferis, Kollias & Cheng (2024), ECAI (Eqs. 1-3) and the first-order
exact-quantile law with its constants.
"""

from rstheory._scaling import *  # noqa: F403  (the names of its __all__)
from rstheory._scaling import (  # noqa: F401  (deprecated 0.1 names, removed in 0.3)
    __all__,
    accuracy_drop_eq3,
    ratio_eq2,
    shore_radius_eq1,
)
