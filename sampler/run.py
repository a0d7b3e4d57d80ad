"""Campaigns over a dataset: datasets, resumable JSONL rows, counts for rstheory (public names
of :mod:`sampler._run`)."""

from sampler._run import *  # noqa: F403  (the names of its __all__)
from sampler._run import __all__  # noqa: F401
