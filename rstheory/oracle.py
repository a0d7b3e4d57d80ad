"""Oracle-error corrections: certificates when the votes are labelled by a noisy oracle.

Public names of :mod:`rstheory._oracle_correction` (the corrections) and
:mod:`rstheory._oracle_estimate` (the error-rate estimates); :func:`rstheory.certify`
takes their results through its ``oracle_error`` argument.
"""

from rstheory._oracle_correction import *  # noqa: F403  (the names of its __all__)
from rstheory._oracle_correction import __all__ as _correction_all
from rstheory._oracle_estimate import *  # noqa: F403
from rstheory._oracle_estimate import __all__ as _estimate_all

__all__ = sorted({*_correction_all, *_estimate_all})
