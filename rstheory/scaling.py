"""Scaling laws of randomized-smoothing certificates in the sample size ``n``.

Public names of :mod:`rstheory._scaling`: exact expectations over a distribution of the
true top-class probability (radius, certified accuracy, abstention, lower bound), the
radius cap, the closed forms of P2 (ECAI 2024, Eqs. 1-3) and the first-order
exact-quantile law with its constants.
"""

from rstheory._scaling import (
    P2_EQ2_CONSTANT,
    SHORE_EXPONENT_CORRECTED,
    SHORE_EXPONENT_PRINTED,
    ScalingComparison,
    abstain_rate,
    accuracy_drop_eq3,
    certified_accuracy,
    compare_closed_form,
    distribution_free_ratio,
    expected_p_lower,
    expected_radius,
    first_order_constant,
    first_order_radius,
    radius_cap,
    ratio_eq2,
    shore_radius_eq1,
)

__all__ = [
    "P2_EQ2_CONSTANT",
    "SHORE_EXPONENT_CORRECTED",
    "SHORE_EXPONENT_PRINTED",
    "ScalingComparison",
    "abstain_rate",
    "accuracy_drop_eq3",
    "certified_accuracy",
    "compare_closed_form",
    "distribution_free_ratio",
    "expected_p_lower",
    "expected_radius",
    "first_order_constant",
    "first_order_radius",
    "radius_cap",
    "ratio_eq2",
    "shore_radius_eq1",
]
