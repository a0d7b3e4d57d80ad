"""Oracles that turn answers into class ids, with their error rates (public names of
:mod:`sampler._oracles`): refusal judge, LLM judge, semantic clustering, action parser."""

from sampler._oracles import *  # noqa: F403  (the names of its __all__)
from sampler._oracles import __all__  # noqa: F401
