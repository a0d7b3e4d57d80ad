"""Planning of certification runs: sample sizes for a target and their compute budget.

Public names of :mod:`rstheory._planning`: :func:`required_samples` (smallest ``n`` whose
exact expected radius, radius ratio or certified accuracy meets a target, with the
first-order closed-form estimate beside it), :func:`budget` and
:func:`samples_within_budget` (batches, device time, wall time and cost).
"""

from rstheory._planning import *  # noqa: F403  (the names of its __all__)
from rstheory._planning import __all__  # noqa: F401
