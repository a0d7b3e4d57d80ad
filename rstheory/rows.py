"""Campaign rows and pilot counts: the one reader that rstheory and sampler share.

Public names of :mod:`rstheory._rows`: :func:`scan_rows` and :func:`read_rows` (the JSONL
rows of ``python -m sampler collect``, a cut last line dropped), :func:`load_counts` (the
:class:`Counts` ``(k, n)`` of a run's successful rows, one configuration hash only, else
:class:`ConfigMismatchError`), :func:`read_counts` (pilot counts from rows or a CSV, for
``rstheory plan --dist fit:FILE``) and :func:`read_settings` (the ``sigma`` and ``alpha``
those rows were collected with).
"""

from rstheory._rows import *  # noqa: F403  (the names of its __all__)
from rstheory._rows import __all__  # noqa: F401
