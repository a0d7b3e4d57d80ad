"""Certify one input: selection and estimation samples, votes and the rstheory certificate
(public names of :mod:`sampler._certify`)."""

from sampler._certify import *  # noqa: F403  (the names of its __all__)
from sampler._certify import __all__  # noqa: F401
