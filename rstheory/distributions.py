"""Models of Pr(p_A), the distribution of top-class probabilities over a dataset.

Public names of :mod:`rstheory._distributions`. Every model offers ``quadrature(num)``
(host float64 nodes and weights, atoms exact), ``sample``, ``mean``, ``variance``, ``cdf``,
``density`` and ``atoms``; :func:`fit` estimates atoms-plus-Beta from pilot vote counts.
"""

from rstheory._distributions import *  # noqa: F403  (the names of its __all__)
from rstheory._distributions import __all__ as _models_all
from rstheory._fit import *  # noqa: F403
from rstheory._fit import __all__ as _fit_all

__all__ = [*_models_all, *_fit_all]
