"""Published randomized-smoothing certifications and their test against the theory.

Public names of :mod:`rstheory._published` (reading the per-input results, recovering
vote counts from published bounds) and :mod:`rstheory._published_check` (predicting the
average certified radius at other sample sizes and comparing with what was measured).
"""

from rstheory._published import *  # noqa: F403  (the names of its __all__)
from rstheory._published import __all__ as _read_all
from rstheory._published_check import *  # noqa: F403
from rstheory._published_check import __all__ as _check_all

__all__ = [*_read_all, *_check_all]
