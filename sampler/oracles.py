"""Oracles that turn answers into class ids, with their error rates (public names of
:mod:`sampler._oracles`): refusal judge, LLM judge, semantic clustering, action parser;
and :func:`final_label_of`, the label an oracle declares final for a prefix of a text
(what :class:`sampler.OracleStop` reads to stop decoding early)."""

from sampler._oracle_base import final_label_of
from sampler._oracles import *  # noqa: F403  (the names of its __all__)
from sampler._oracles import __all__ as _ORACLE_NAMES

__all__ = [*_ORACLE_NAMES, "final_label_of"]
