"""Tiny, randomly initialised models built offline (public names of :mod:`sampler._tiny`),
and the small LLaVA trained on the toy task (:func:`trained_llava`, :mod:`sampler._train_tiny`)."""

from sampler._tiny import *  # noqa: F403  (the names of its __all__)
from sampler._tiny import __all__ as _TINY_ALL
from sampler._train_tiny import trained_llava

__all__ = [*_TINY_ALL, "trained_llava"]
