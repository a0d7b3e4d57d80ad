"""Tiny, randomly initialised models built offline (public names of :mod:`sampler._tiny`)."""

from sampler._tiny import *  # noqa: F403  (the names of its __all__)
from sampler._tiny import __all__  # noqa: F401
