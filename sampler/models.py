"""Model adapters and the noisy-sampling loop (public names of :mod:`sampler._models`,
:mod:`sampler._models_vlm` and :mod:`sampler._models_classifier`), and the early-stop
criterion :class:`OracleStop` of :mod:`sampler._early_stop` (loaded on first use, since it
imports ``transformers``)."""

from sampler._models import *  # noqa: F403  (the names of its __all__)
from sampler._models import __all__ as _base
from sampler._models_classifier import *  # noqa: F403
from sampler._models_classifier import __all__ as _classifier
from sampler._models_vlm import *  # noqa: F403
from sampler._models_vlm import __all__ as _vlm

_LAZY = ("EarlyStopCounts", "OracleStop")

__all__ = [*_base, *_classifier, *_vlm, *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        from sampler import _early_stop

        return getattr(_early_stop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})
