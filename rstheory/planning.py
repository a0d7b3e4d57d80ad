"""Planning of certification runs: sample sizes for a target and their compute budget.

Public names of :mod:`rstheory._planning`: :func:`required_samples` (smallest ``n`` whose
exact expected radius, radius ratio or certified accuracy meets a target, with the
first-order closed-form estimate beside it), :func:`budget` and
:func:`samples_within_budget` (batches, device time, wall time and cost).
"""

from rstheory._planning import (
    Budget,
    Plan,
    budget,
    required_samples,
    samples_within_budget,
)

__all__ = [
    "Budget",
    "Plan",
    "budget",
    "required_samples",
    "samples_within_budget",
]
