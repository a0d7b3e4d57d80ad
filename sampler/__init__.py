"""sampler: the measurement side of randomized smoothing, in torch.

Gaussian noise in pixel space (:mod:`sampler.noise`), models that turn noisy images into
texts or class ids (:mod:`sampler.models`: LLaVA 1.5/1.6, any transformers
image-text-to-text model, image classifiers), oracles that map texts to classes
(:mod:`sampler.oracles`), vote counting, and tiny randomly initialised models for tests
and the offline demo (:mod:`sampler.tiny`), real small models shipped inside PyPI wheels
(:mod:`sampler.real_models`: sentence embeddings, an offensive-language classifier, an
ImageNet classifier), the one-input certificate (:mod:`sampler.certify`) with its
configuration (:class:`CertifyConfig`), the smoothed prediction or abstention of Cohen et
al.'s PREDICT (:mod:`sampler.predict`, :class:`PredictResult`) and resumable dataset
campaigns of either (:mod:`sampler.run`, ``python -m sampler collect``). Statistics are
computed by :mod:`rstheory` only: the vote counts are the one interface between measurement
and theory.

The public names load on first use (PEP 562): ``import sampler`` imports neither torch,
transformers nor JAX, so ``python -m sampler collect`` refuses a bad argument before any
of them loads; ``sampler.VLM`` or ``sampler.run`` import what they need when first touched.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from rstheory._deprecation import REMOVED_IN
from rstheory._lazy import lazy_module, names_by_module
from sampler._extras import extra_hint

if TYPE_CHECKING:
    from sampler import certify, models, noise, oracles, predict, real_models, run, tiny
    from sampler._config import CertifyConfig, SequentialRule
    from sampler._early_stop import OracleStop
    from sampler._models import DecodingConfig, NoiseSpec, Samples, sample_predictions
    from sampler._models_classifier import ImageClassifier
    from sampler._models_vlm import VLM
    from sampler._noise import add_gaussian_noise, noise_generator
    from sampler._oracle_base import final_label_of
    from sampler._oracles import (
        ActionParser,
        LLMJudge,
        RefusalJudge,
        SemanticClusterer,
        error_rates,
    )
    from sampler._predict import PredictResult
    from sampler._results import CertifyResult, SequentialResult, Votes
    from sampler._votes import TopTwo, certificate_from_counts, count_votes, select_class, top_two

__all__ = [
    "VLM",
    "ActionParser",
    "CertifyConfig",
    "CertifyResult",
    "DecodingConfig",
    "ImageClassifier",
    "LLMJudge",
    "NoiseSpec",
    "OracleStop",
    "PredictResult",
    "RefusalJudge",
    "Samples",
    "SemanticClusterer",
    "SequentialResult",
    "SequentialRule",
    "TopTwo",
    "Votes",
    "add_gaussian_noise",
    "certificate_from_counts",
    "certify",
    "count_votes",
    "error_rates",
    "final_label_of",
    "models",
    "noise",
    "noise_generator",
    "oracles",
    "predict",
    "real_models",
    "run",
    "sample_predictions",
    "select_class",
    "tiny",
    "top_two",
]


_SUBMODULES = ("certify", "models", "noise", "oracles", "predict", "real_models", "run", "tiny")
# module -> the public names it defines
_DEFINED_IN = {
    "sampler._config": ("CertifyConfig", "SequentialRule"),
    "sampler._early_stop": ("OracleStop",),
    "sampler._models": ("DecodingConfig", "NoiseSpec", "Samples", "sample_predictions"),
    "sampler._models_classifier": ("ImageClassifier",),
    "sampler._models_vlm": ("VLM",),
    "sampler._noise": ("add_gaussian_noise", "noise_generator"),
    "sampler._oracle_base": ("final_label_of",),
    "sampler._predict": ("PredictResult",),
    "sampler._oracles": (
        "ActionParser",
        "LLMJudge",
        "RefusalJudge",
        "SemanticClusterer",
        "error_rates",
    ),
    "sampler._results": ("CertifyResult", "SequentialResult", "Votes"),
    "sampler._votes": (
        "TopTwo",
        "certificate_from_counts",
        "count_votes",
        "select_class",
        "top_two",
    ),
}
_NAMES = names_by_module(_DEFINED_IN)
_lazy_getattr, __dir__ = lazy_module(
    globals(),
    submodules=_SUBMODULES,
    names=_NAMES,
    all_names=__all__,
    on_missing=lambda err, what: extra_hint(err, what=what),
)


def __getattr__(name: str):
    # VoteCertificate, 0.1's result of certificate_from_counts, is now CertifyResult.
    if name == "VoteCertificate":
        warnings.warn(
            f"sampler.VoteCertificate is renamed sampler.CertifyResult (deprecated in 0.2, "
            f"removed in {REMOVED_IN})",
            DeprecationWarning,
            stacklevel=2,
        )
        return _lazy_getattr("CertifyResult")
    return _lazy_getattr(name)
