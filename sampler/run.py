"""Campaigns over a dataset: datasets, resumable JSONL rows, counts for rstheory (public names
of :mod:`sampler._run`), and their scale-out on Ray (:func:`run_ray`, :class:`VLMLoader`,
:func:`start_local_cluster` of :mod:`sampler._ray_backend`; Ray itself is imported only
when ``run_ray`` runs)."""

from sampler._ray_backend import VLMLoader, run_ray, start_local_cluster
from sampler._run import *  # noqa: F403  (the names of its __all__)
from sampler._run import __all__ as _local_names

__all__ = [*_local_names, "VLMLoader", "run_ray", "start_local_cluster"]
