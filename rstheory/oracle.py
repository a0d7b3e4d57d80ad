"""Oracle-error corrections: certificates when the votes are labelled by a noisy oracle.

Public names of :mod:`rstheory._oracle_correction`; :func:`rstheory.certify` takes
their results through its ``oracle_eps`` and ``oracle`` arguments.
"""

from rstheory._oracle_correction import (
    ErrorBound,
    ErrorInterval,
    RateBounds,
    corrected_lower_bound,
    corrected_probability,
    correction_derivative,
    estimate_error,
    estimate_error_interval,
    estimate_rates,
    observed_probability,
    observed_probability_asymmetric,
)

__all__ = [
    "ErrorBound",
    "ErrorInterval",
    "RateBounds",
    "corrected_lower_bound",
    "corrected_probability",
    "correction_derivative",
    "estimate_error",
    "estimate_error_interval",
    "estimate_rates",
    "observed_probability",
    "observed_probability_asymmetric",
]
