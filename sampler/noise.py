"""Gaussian pixel-space noise and the normalization after it.

Public names of :mod:`sampler._noise`.
"""

from sampler._noise import *  # noqa: F403  (the names of its __all__)
from sampler._noise import __all__  # noqa: F401
