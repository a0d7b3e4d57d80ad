"""Confidence bounds on binomial proportions behind one interface, and multi-class bounds.

Public names of :mod:`rstheory._bounds` (:func:`lower_bound`, :func:`upper_bound`, the
:data:`METHODS` table, with the one-sided ``alpha`` convention stated there),
:mod:`rstheory._bounds_multiclass` (:func:`simultaneous_bounds`,
:func:`two_class_radius`), :mod:`rstheory._confseq` (:func:`betabinomial_cs`) and
:mod:`rstheory._bounds_betting` (:func:`betting_cs_lower`, a betting confidence sequence
that takes the outcomes in order).
"""

from rstheory._bounds import METHODS, BoundMethod, Method, lower_bound, upper_bound
from rstheory._bounds_betting import betting_cs_lower
from rstheory._bounds_multiclass import (
    SimultaneousBounds,
    simultaneous_bounds,
    two_class_radius,
)
from rstheory._confseq import betabinomial_cs

__all__ = [
    "METHODS",
    "BoundMethod",
    "Method",
    "SimultaneousBounds",
    "betabinomial_cs",
    "betting_cs_lower",
    "lower_bound",
    "simultaneous_bounds",
    "two_class_radius",
    "upper_bound",
]
