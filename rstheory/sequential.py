"""Anytime-valid sequential certification at a target radius.

Public names of :mod:`rstheory._sequential`: :func:`boundaries` (certify and futility
thresholds of the rule per checkpoint), :func:`operating_characteristics` (exact law of
the stopping time for a true ``p``), :func:`sequential_plan` (expected samples and
certified fraction under ``Pr(p_A)``) and :func:`compare_fixed` (against the fixed-``n``
rule at the same certified fraction).
"""

from rstheory._sequential import *  # noqa: F403  (the names of its __all__)
from rstheory._sequential import __all__ as _rule_all
from rstheory._sequential_oc import *  # noqa: F403
from rstheory._sequential_oc import __all__ as _oc_all
from rstheory._sequential_plan import *  # noqa: F403
from rstheory._sequential_plan import __all__ as _plan_all

__all__ = [*_rule_all, *_oc_all, *_plan_all]
