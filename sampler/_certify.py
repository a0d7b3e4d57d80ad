"""Certify one input: selection and estimation samples, oracle labels, votes, certificate.

:func:`certify` runs the rule its configuration names: the anytime-valid sequential rule
of :mod:`sampler._sequential` when ``config.sequential`` is set, else, with a fixed ``n``,
Cohen et al.'s CERTIFY for any :class:`sampler.models.Model`, with an oracle between the
texts of a VLM and the votes (Seferis, Wu, Kollias, Bensalem & Cheng 2025, "Randomized
Smoothing Meets Vision-Language Models", EMNLP 2025):

1. *selection*: ``n0`` noisy copies of the input, their predictions labelled, counted;
   the selected class is ``argmax`` of these counts (ties to the lower id);
2. *estimation*: ``n`` fresh noisy copies, labelled and counted; ``k`` is the count of
   the selected class among them;
3. :func:`rstheory.certify` ``(k, n, alpha=, sigma=, ...)`` turns ``(k, n)`` into the
   certificate, with the oracle correction when an error rate is given. No statistics
   are computed here.

**Seeding: two independent, reproducible sub-streams** (:mod:`sampler._draws`, shared by
both rules). Everything random in one call derives from ``seed`` through
:func:`derive_seed`, a SHA-256 of the JSON text ``[seed, tag]`` cut to 63 bits. The noise
of the selection copies comes from a :func:`sampler.noise.noise_generator` seeded with
``derive_seed(seed, "selection/noise")``, that of the estimation copies from one seeded
with ``derive_seed(seed, "estimation/noise")``; sampled decoding
(``DecodingConfig(do_sample=True)``) uses the base seeds ``derive_seed(seed,
"selection/decoding")`` and ``derive_seed(seed, "estimation/decoding")`` (batch ``b`` then
decodes under :func:`sampler.models.batch_seed` of it). The two sets are therefore drawn
from different generators, never from one stream cut in two, so the estimation noise does
not reuse the selection noise whatever ``n0``, ``n`` and ``batch_size`` are; the same
``seed`` (on the same device type) gives the same noise and the same answers. The model's
own ``decoding.seed`` is not used: ``seed`` governs the call.

**Labels.** A classifier's predictions are its class ids (``oracle=None``). A VLM's texts
go through ``oracle`` (any :class:`sampler.oracles.Oracle`), the selection texts in one
call and the estimation texts in another, so an estimation label never depends on the
selection texts. A :class:`sampler.oracles.SemanticClusterer` is used the way its
docstring describes: the selection texts define the clusters
(:meth:`~sampler.oracles.SemanticClusterer.select`), which fixes the classes and the
selected class 0, and each estimation text is then labelled on its own against them, so
the ``n`` estimation labels are independent given the selection.

**Early stop.** When the VLM's decoding (the configuration's ``decoding``, else the
model's own) has ``early_stop``, :func:`certify` binds the oracle to the model
(:meth:`sampler.models.VLM.with_oracle`), so each noisy copy stops decoding once the
oracle declares its label final; the labels, and so the counts and the certificate, are
those of the full decoding under the conditions of :mod:`sampler._early_stop` (greedy
decoding, or the per-copy sampling of :class:`sampler.models.DecodingConfig`), and the kept
texts are the cut ones. An oracle without final labels (a semantic clusterer, an LLM judge)
is refused before any copy is drawn.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

import rstheory
from rstheory._deprecation import REMOVED_IN
from sampler._config import CertifyConfig, SequentialRule, config_from_keywords
from sampler._draws import Selection, begin_call, derive_seed
from sampler._oracle_base import OracleErrorRates
from sampler._results import CertifyResult, SequentialResult, Timings
from sampler._sequential import run_sequential
from sampler._votes import count_votes, select_class

__all__ = [
    "CertifyConfig",
    "CertifyResult",
    "SequentialRule",
    "Timings",
    "certify",
    "certify_sequential",
    "derive_seed",
]


def _oracle_error_for(oracle_error, top_class: int):
    """The ``oracle_error`` of :func:`rstheory.certify` for the selected class ``top_class``."""
    if isinstance(oracle_error, OracleErrorRates):
        # The per-class rates of the selected class (the sound, asymmetric correction).
        return oracle_error.rates_for(top_class)
    if (
        isinstance(oracle_error, rstheory.oracle.RateBounds)
        and np.ndim(oracle_error.eps_fp_upper) == 1
    ):
        # One entry per class: the bounds for the selected class as A.
        fp, fn = oracle_error.eps_fp_upper, oracle_error.eps_fn_upper
        if not 0 <= top_class < len(fp):
            raise ValueError(
                f"oracle_error has {len(fp)} classes, the selected class is {top_class}"
            )
        return rstheory.oracle.RateBounds(fp[top_class], fn[top_class], oracle_error.alpha)
    return oracle_error


def _bind_early_stop(model, cfg: CertifyConfig, oracle):
    """``model`` bound to ``oracle`` when its decoding (the configuration's, else its own) has
    ``early_stop``; ``model`` itself otherwise (a classifier has no decoding)."""
    if not callable(getattr(model, "with_decoding", None)):
        return model  # a classifier: a decoding in the configuration is refused later
    decoding = cfg.decoding if cfg.decoding is not None else getattr(model, "decoding", None)
    if not getattr(decoding, "early_stop", False):
        return model
    from sampler._early_stop import declares_final_labels

    if not declares_final_labels(oracle):
        raise ValueError(
            "decoding.early_stop needs an oracle that declares final labels of prefixes "
            "(final_label: RefusalJudge, ActionParser), got "
            f"{'None' if oracle is None else type(oracle).__name__}; set early_stop=False"
        )
    if not callable(getattr(model, "with_oracle", None)):
        raise ValueError(
            f"decoding.early_stop needs a model with with_oracle, not a {type(model).__name__}"
        )
    return model.with_oracle(oracle)


def certify(
    model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    device: str | torch.device | None = None,
    **legacy,
) -> CertifyResult | SequentialResult:
    """Certify one input with the rule its configuration names.

    * ``config.sequential is None``: Cohen et al.'s CERTIFY with a fixed ``n``, separate
      selection and estimation samples (the module docstring gives the algorithm, the
      seeding and the labelling); returns a :class:`CertifyResult`.
    * ``config.sequential`` a :class:`SequentialRule`: the anytime-valid sequential rule at
      the target radius ``config.sequential.radius``, which stops the estimation as soon as
      the radius is certified or out of reach (:mod:`sampler._sequential` gives the rule,
      its guarantee and the prefix property); returns a
      :class:`sampler.certify.SequentialResult`.

    Both rules draw the same selection and estimation streams from ``config.seed``.

    Args:
      model: a :class:`sampler.models.Model`: a :class:`sampler.models.VLM` (texts) or an
        :class:`sampler.models.ImageClassifier` (class ids).
      image: the clean image, ``(3, H, W)`` float in ``[0, 1]``.
      prompt: the question for a VLM; None for a classifier.
      config: the :class:`CertifyConfig` (``n0``, ``n``, ``sigma``, ``alpha``, ``seed``,
        ``batch_size``, ``oracle_error``, ``decoding``, ``num_classes``, ``keep_texts``,
        ``sequential``). ``oracle_error`` goes to :func:`rstheory.certify` (with
        ``num_classes`` of this input for a symmetric rate); a per-class ``RateBounds`` or a
        :class:`sampler.oracles.OracleErrorRates` gives the rates of the selected class.
        With a sequential rule, ``n`` and ``oracle_error`` are None and ``batch_size`` is
        also the number of copies between two looks.
      oracle: for a VLM, an oracle mapping texts to class ids (``RefusalJudge``,
        ``ActionParser``, ``LLMJudge``, any :class:`sampler.oracles.Oracle`) or a
        :class:`sampler.oracles.SemanticClusterer` (or any object with its ``select``
        method); None for a classifier, whose class ids are the labels.
      device: where the noise is drawn; default (None) the model's device. It must be of
        the model's device type; CPU and CUDA generators give different streams.
      legacy: release 0.1's flat keywords (``n0=``, ``n=``, ``sigma=``, ``alpha=``,
        ``seed=``, ``batch_size=``, ``oracle_eps=``, ``oracle_rates=``, ``keep_texts=``,
        ``num_classes=``, and for the sequential rule ``radius=``, ``n_max=``, ``prior=``)
        instead of ``config``: deprecated, they build the configuration with a
        :class:`DeprecationWarning` (a sequential one when they name ``radius``, ``n_max``
        or ``prior``).

    Returns:
      :class:`CertifyResult` for a fixed ``n`` (its counts load into :mod:`rstheory`
      directly), :class:`sampler.certify.SequentialResult` for a sequential rule.

    Raises:
      ValueError: a bad argument (the message names it), a VLM without an oracle, a
        classifier with one, labels outside ``[0, num_classes)``, or
        ``decoding.early_stop`` with an oracle that declares no final labels.

    Example (a classifier that always answers class 2), with a fixed ``n``:
      >>> import torch
      >>> from sampler.certify import CertifyConfig, SequentialRule, certify
      >>> from sampler.models import ImageClassifier
      >>> class Two(torch.nn.Module):
      ...     def forward(self, x):
      ...         return torch.nn.functional.one_hot(torch.full((len(x),), 2), 3).float()
      >>> cfg = CertifyConfig(n0=10, n=100, sigma=0.25, alpha=0.001, seed=0, num_classes=3)
      >>> res = certify(ImageClassifier(Two()), torch.rand(3, 4, 4), config=cfg)
      >>> res.top_class, res.selection_counts.tolist(), res.estimation_counts.tolist()
      (2, [0, 0, 10], [0, 0, 100])
      >>> round(float(res.certificate.radius), 4), bool(res.certificate.abstained)
      (0.3751, False)

    and with the sequential rule at radius 0.25 (it stops after 80 of at most 1000):
      >>> cfg = CertifyConfig(n0=10, sigma=0.25, alpha=0.001, batch_size=20, seed=0,
      ...     num_classes=3, sequential=SequentialRule(radius=0.25, n_max=1000))
      >>> res = certify(ImageClassifier(Two()), torch.rand(3, 4, 4), config=cfg)
      >>> res.stop_reason, res.top_class, res.n, res.k, round(res.radius, 4)
      ('certified', 2, 80, 80, 0.254)
    """
    start = time.perf_counter()
    cfg = config_from_keywords(config, legacy, func="certify", sequential=None)
    model = _bind_early_stop(model, cfg, oracle)
    if cfg.sequential is not None:
        return run_sequential(
            model, image, prompt, config=cfg, oracle=oracle, device=device, start=start
        )
    model, seeds, selection, estimation = begin_call(
        model, image, prompt, config=cfg, oracle=oracle, device=device
    )
    n0, n = cfg.n0, cfg.n
    sel_preds, t_sel = selection.draw(n0)
    est_preds, t_est = estimation.draw(n)

    t = time.perf_counter()
    sel = Selection.label(sel_preds, oracle=oracle, prompt=prompt, n0=n0)
    est = sel.label_more(est_preds, prompt=prompt, name="estimation", expected=n)
    num_classes = sel.resolve_num_classes(model, cfg.num_classes, est)
    t_oracle = time.perf_counter() - t

    sel_counts = count_votes(sel.labels, num_classes=num_classes)
    est_counts = count_votes(est, num_classes=num_classes)
    top_class = int(select_class(sel_counts))
    k = int(est_counts[top_class])
    cert = rstheory.certify(
        k,
        n,
        alpha=cfg.alpha,
        sigma=cfg.sigma,
        oracle_error=_oracle_error_for(cfg.oracle_error, top_class),
        num_classes=max(num_classes, 2),
    )
    keep = cfg.keep_texts and sel.texts is not None
    return CertifyResult(
        certificate=cert,
        top_class=top_class,
        selection_counts=sel_counts,
        estimation_counts=est_counts,
        k=k,
        n=n,
        n0=n0,
        num_classes=num_classes,
        class_names=sel.class_names,
        selection_labels=sel.labels,
        estimation_labels=est,
        selection_texts=sel.texts if keep else None,
        estimation_texts=tuple(est_preds) if keep else None,
        noise=selection.noise,
        timings=Timings(t_sel, t_est, t_oracle, time.perf_counter() - start),
        seeds=seeds,
    )


def certify_sequential(model, image, prompt=None, *, config=None, **keywords) -> SequentialResult:
    """Deprecated alias of :func:`certify` for a sequential configuration (removed in 0.3).

    ``oracle=`` and ``device=`` are :func:`certify`'s. As in release 0.1, the configuration
    (``config`` or the 0.1 flat keywords ``n0=``, ``radius=``, ``sigma=``, ``alpha=``,
    ``n_max=``, ``seed=``, ``batch_size=``, ``prior=``, ``keep_texts=``, ``num_classes=``)
    must have a sequential rule; the result is what :func:`certify` returns for it.
    """
    warnings.warn(
        f"certify_sequential is renamed certify, which runs the rule of its configuration "
        f"(deprecated in 0.2, removed in {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=2,
    )
    oracle, device = keywords.pop("oracle", None), keywords.pop("device", None)
    cfg = config_from_keywords(config, keywords, func="certify_sequential", sequential=True)
    return certify(model, image, prompt, config=cfg, oracle=oracle, device=device)
