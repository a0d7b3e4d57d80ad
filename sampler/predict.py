"""Predict with the smoothed model, or abstain: Cohen et al.'s PREDICT (2019, Sec. 3.2) for
a VLM (its texts labelled by an oracle) or a classifier (:mod:`sampler._predict`)."""

from sampler._predict import *  # noqa: F403  (the names of its __all__)
from sampler._predict import __all__ as __all__
