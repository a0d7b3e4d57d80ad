"""Planning of certification runs: sample sizes for a target and their compute budget.

Public names of :mod:`rstheory._planning`: :func:`required_samples` (smallest ``n`` whose
exact expected radius, radius ratio or certified accuracy meets a target, with the
first-order closed-form estimate beside it), and of :mod:`rstheory._budget`:
:func:`budget`, :func:`expected_budget` and :func:`samples_within_budget` (batches,
device time, wall time and cost).
"""

from rstheory._budget import *  # noqa: F403  (the names of its __all__)
from rstheory._budget import __all__ as _budget_all
from rstheory._planning import *  # noqa: F403
from rstheory._planning import __all__ as _planning_all

__all__ = sorted([*_planning_all, *_budget_all])
