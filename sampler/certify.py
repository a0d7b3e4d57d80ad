"""Certify one input: selection and estimation samples, votes and the rstheory certificate
(public names of :mod:`sampler._certify`), and the anytime-valid sequential variant that
stops as soon as a target radius is certified or out of reach (:mod:`sampler._sequential`)."""

from sampler._certify import *  # noqa: F403  (the names of its __all__)
from sampler._certify import __all__ as _certify_all
from sampler._sequential import *  # noqa: F403
from sampler._sequential import __all__ as _sequential_all

__all__ = [*_certify_all, *_sequential_all]
