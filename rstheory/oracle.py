"""Oracle-error corrections: certificates when the votes are labelled by a noisy oracle.

Public names of :mod:`rstheory._oracle_correction`; :func:`rstheory.certify` takes
their results through its ``oracle_error`` argument.
"""

from rstheory._oracle_correction import *  # noqa: F403  (the names of its __all__)
from rstheory._oracle_correction import __all__  # noqa: F401
