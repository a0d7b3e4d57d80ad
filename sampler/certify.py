"""Certify one input: selection and estimation samples, votes and the rstheory certificate,
with the rule the configuration names: a fixed ``n`` (:mod:`sampler._certify`), or the
anytime-valid sequential rule that stops as soon as a target radius is certified or out of
reach (:mod:`sampler._sequential`). The public names of both modules."""

from sampler._certify import *  # noqa: F403  (the names of its __all__)
from sampler._certify import __all__ as _certify_all
from sampler._sequential import *  # noqa: F403
from sampler._sequential import __all__ as _sequential_all

__all__ = [*_certify_all, *_sequential_all]
