"""Real models shipped inside PyPI wheels (public names of :mod:`sampler._real_models`)."""

from sampler._real_models import *  # noqa: F403  (the names of its __all__)
from sampler._real_models import __all__  # noqa: F401
