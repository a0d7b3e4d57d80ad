"""Model adapters and the noisy-sampling loop (public names of :mod:`sampler._models`,
:mod:`sampler._models_vlm` and :mod:`sampler._models_classifier`)."""

from sampler._models import *  # noqa: F403  (the names of its __all__)
from sampler._models import __all__ as _base
from sampler._models_classifier import *  # noqa: F403
from sampler._models_classifier import __all__ as _classifier
from sampler._models_vlm import *  # noqa: F403
from sampler._models_vlm import __all__ as _vlm

__all__ = [*_base, *_classifier, *_vlm]
