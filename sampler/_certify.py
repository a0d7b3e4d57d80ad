"""Certify one input: selection and estimation samples, oracle labels, votes, certificate.

:func:`certify` is Cohen et al.'s CERTIFY for any :class:`sampler.models.Model`, with an
oracle between the texts of a VLM and the votes (Seferis, Wu, Kollias, Bensalem & Cheng
2025, "Randomized Smoothing Meets Vision-Language Models", EMNLP 2025):

1. *selection*: ``n0`` noisy copies of the input, their predictions labelled, counted;
   the selected class is ``argmax`` of these counts (ties to the lower id);
2. *estimation*: ``n`` fresh noisy copies, labelled and counted; ``k`` is the count of
   the selected class among them;
3. :func:`rstheory.certify` ``(k, n, alpha=, sigma=, ...)`` turns ``(k, n)`` into the
   certificate, with the oracle correction when an error rate is given. No statistics
   are computed here.

**Seeding: two independent, reproducible sub-streams.** Everything random in one call
derives from ``seed`` through :func:`derive_seed`, a SHA-256 of the JSON text
``[seed, tag]`` cut to 63 bits. The noise of the selection copies comes from a
:func:`sampler.noise.noise_generator` seeded with ``derive_seed(seed, "selection/noise")``,
that of the estimation copies from one seeded with ``derive_seed(seed, "estimation/noise")``;
sampled decoding (``DecodingConfig(do_sample=True)``) uses the base seeds
``derive_seed(seed, "selection/decoding")`` and ``derive_seed(seed, "estimation/decoding")``
(batch ``b`` then decodes under :func:`sampler.models.batch_seed` of it). The two sets are
therefore drawn from different generators, never from one stream cut in two, so the
estimation noise does not reuse the selection noise whatever ``n0``, ``n`` and
``batch_size`` are; the same ``seed`` (on the same device type) gives the same noise and
the same answers. The model's own ``decoding.seed`` is not used: ``seed`` governs the call.

**Labels.** A classifier's predictions are its class ids (``oracle=None``). A VLM's texts
go through ``oracle`` (any :class:`sampler.oracles.Oracle`), the selection texts in one
call and the estimation texts in another, so an estimation label never depends on the
selection texts. A :class:`sampler.oracles.SemanticClusterer` is used the way its
docstring describes: the selection texts define the clusters
(:meth:`~sampler.oracles.SemanticClusterer.select`), which fixes the classes and the
selected class 0, and each estimation text is then labelled on its own against them, so
the ``n`` estimation labels are independent given the selection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any, NamedTuple

import numpy as np
import torch

import rstheory
from sampler._config import CertifyConfig, SequentialRule, config_from_keywords
from sampler._models import NoiseSpec, batch_seed
from sampler._noise import add_gaussian_noise, noise_generator
from sampler._oracle_base import OracleErrorRates
from sampler._oracle_cluster import SemanticClusterer
from sampler._results import CertifyResult, Timings
from sampler._validation import check_labels, check_seed, resolve_device
from sampler._votes import count_votes, select_class

__all__ = [
    "CertifyConfig",
    "CertifyResult",
    "SequentialRule",
    "Timings",
    "certify",
    "derive_seed",
]


def derive_seed(seed: int, *tags: str | int) -> int:
    """A seed in ``[0, 2**63)`` derived from ``seed`` and ``tags``: a deterministic sub-stream.

    ``int(sha256(json.dumps([seed, *tags])).digest()[:8]) >> 1``. Different tags give
    unrelated seeds (a cryptographic hash), so generators seeded with them draw
    independent-looking streams; the same arguments always give the same seed, on every
    platform and Python version.

    Args:
      seed: an int in ``[0, 2**63)``.
      tags: strings or ints naming the sub-stream, e.g. ``"selection/noise"``.

    Example:
      >>> from sampler.certify import derive_seed
      >>> derive_seed(0, "selection/noise") == derive_seed(0, "selection/noise")
      True
      >>> derive_seed(0, "selection/noise") != derive_seed(0, "estimation/noise")
      True
    """
    seed = check_seed(seed)
    for t in tags:
        if isinstance(t, bool) or not isinstance(t, str | int):
            raise ValueError(f"tags must be strings or ints, got {t!r}")
    text = json.dumps([int(seed), *tags], ensure_ascii=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _call_oracle(oracle, texts: list[str], prompt) -> torch.Tensor:
    # An LLM judge whose template uses {request} needs the prompt next to each answer.
    if getattr(oracle, "uses_request", False):
        return oracle(texts, [prompt or ""] * len(texts))
    return oracle(texts)


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


SEED_STREAMS = ("selection/noise", "selection/decoding", "estimation/noise", "estimation/decoding")


def _derive_seeds(seed: int) -> dict[str, int]:
    """The four derived seeds of one call (module docstring)."""
    return {stream: derive_seed(seed, stream) for stream in SEED_STREAMS}


def _check_call(model, config: CertifyConfig, *, oracle, device):
    """Check the call against its model: the oracle, ``num_classes``, the device, the
    decoding. Returns ``(model, device)``: the model with the configuration's decoding."""
    if oracle is not None and config.num_classes is not None:
        raise ValueError("num_classes must be None when an oracle labels the answers")
    if config.decoding is not None:
        if not callable(getattr(model, "with_decoding", None)):
            raise ValueError(
                f"decoding applies to a VLM only, not to a {type(model).__name__}: leave it None"
            )
        model = model.with_decoding(config.decoding)
    model_device = getattr(model, "device", torch.device("cpu"))
    dev = model_device if device is None else resolve_device(device)
    if dev.type != torch.device(model_device).type:
        raise ValueError(f"device {dev} must be of the model's device type ({model_device})")
    return model, dev


class Stream:
    """One seeded stream of noisy predictions (``"selection"`` or ``"estimation"``).

    The input is prepared once; :meth:`draw` ``(count)`` continues the stream with forward
    batches of ``batch_size`` copies (the last one partial), batch ``b`` (counted from the
    start of the stream) decoding under :func:`sampler.models.batch_seed` ``(seed, b)``, the
    noise from one generator that is never reseeded. Drawing ``n`` copies at once and
    drawing them ``batch_size`` at a time therefore give the same predictions: the draws
    of a sequential run are a prefix of a fixed-``n`` run with the same seed.
    """

    def __init__(self, model, image, prompt, *, sigma, batch_size, seeds, name, device):
        self.model = model
        self.sigma = sigma
        self.batch_size = batch_size
        self.prepared = model.prepare(image, prompt)
        self.noise = NoiseSpec.of(sigma, self.prepared, model.normalization)
        self.generator = noise_generator(seed=seeds[f"{name}/noise"], device=device)
        self.decoding_seed = seeds[f"{name}/decoding"]
        self.batches = 0

    def draw(self, count: int):
        """The next ``count`` predictions (``list[str]`` or int64 CPU tensor), and seconds spent."""
        t = time.perf_counter()
        texts: list[str] = []
        ids: list[torch.Tensor] = []
        for start in range(0, count, self.batch_size):
            num = min(self.batch_size, count - start)
            pixels = add_gaussian_noise(
                self.prepared.pixels, num=num, sigma=self.sigma, generator=self.generator
            )
            seed = batch_seed(self.decoding_seed, self.batches)
            out = self.model.predict(self.prepared, pixels, seed=seed)
            self.batches += 1
            if isinstance(out, torch.Tensor):
                ids.append(out.cpu())  # host copy inside the timing (synchronises a GPU)
            else:
                texts.extend(out)
        return (torch.cat(ids) if ids else texts), time.perf_counter() - t


class Call(NamedTuple):
    """One call of :func:`certify` or :func:`sampler.certify.certify_sequential`, checked
    and set up by :func:`begin_call`: the model (with the configuration's decoding), the
    derived seeds and the two streams, nothing drawn yet."""

    model: Any
    seeds: dict[str, int]
    selection: Stream
    estimation: Stream


def begin_call(model, image, prompt, *, config: CertifyConfig, oracle, device) -> Call:
    """The set-up shared by both certification rules: the call checked against its model
    (the oracle, ``num_classes``, the device, the decoding) and its selection and estimation
    streams seeded from ``config.seed`` (module docstring)."""
    model, dev = _check_call(model, config, oracle=oracle, device=device)
    seeds = _derive_seeds(config.seed)
    selection, estimation = (
        Stream(
            model,
            image,
            prompt,
            sigma=config.sigma,
            batch_size=config.batch_size,
            seeds=seeds,
            name=name,
            device=dev,
        )
        for name in ("selection", "estimation")
    )
    return Call(model, seeds, selection, estimation)


@dataclasses.dataclass
class Selection:
    """The selection step's labels and the labeller that labels every later prediction
    (shared by both certification rules)."""

    labels: torch.Tensor
    labeller: Any  # None for a classifier
    texts: tuple[str, ...] | None
    class_names: tuple[str, ...] | None

    @classmethod
    def label(cls, preds, *, oracle, prompt, n0: int) -> Selection:
        if isinstance(preds, torch.Tensor):  # a classifier: class ids are the labels
            if oracle is not None:
                raise ValueError("oracle must be None for a model that returns class ids")
            labels = check_labels(preds, name="selection predictions", expected=n0)
            return cls(labels, None, None, None)
        if oracle is None:
            raise ValueError(
                "oracle is required for a model that returns texts (a VLM): pass e.g. "
                "sampler.oracles.RefusalJudge() or a SemanticClusterer"
            )
        texts = tuple(preds)
        if isinstance(oracle, SemanticClusterer) or callable(getattr(oracle, "select", None)):
            # The selection fixes the clusters; each estimation text is labelled on its own.
            labeller = oracle.select(list(texts))
            labels = check_labels(labeller.selection_labels, name="selection labels", expected=n0)
        else:
            labeller = oracle
            labels = check_labels(
                _call_oracle(oracle, list(texts), prompt), name="selection labels", expected=n0
            )
        return cls(labels, labeller, texts, tuple(str(x) for x in labeller.labels))

    def label_more(self, preds, *, prompt, name: str, expected: int) -> torch.Tensor:
        """Labels of later predictions (each labelled on its own given the selection)."""
        if self.labeller is None:
            return check_labels(preds, name=f"{name} predictions", expected=expected)
        return check_labels(
            _call_oracle(self.labeller, list(preds), prompt),
            name=f"{name} labels",
            expected=expected,
        )

    def resolve_num_classes(self, model, num_classes, *more: torch.Tensor) -> int:
        """The length of the counts: the oracle's classes, or for a classifier ``num_classes``,
        the model's ``num_classes``, else ``max(label) + 1`` (at least 2)."""
        if self.labeller is not None:
            return int(self.labeller.num_classes)
        if num_classes is None:
            num_classes = getattr(model, "num_classes", None)
        if num_classes is None:
            num_classes = max(2, int(torch.cat([self.labels, *more]).max()) + 1)
        return int(num_classes)

    def top_class(self) -> int:
        """The selected class (:func:`sampler.select_class` of the selection counts)."""
        # max(label) + 1 classes suffice for the argmax; count_votes checks labels >= 0.
        counts = count_votes(self.labels, num_classes=max(1, int(self.labels.max()) + 1))
        return int(select_class(counts))


def certify(
    model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    device: str | torch.device | None = None,
    **legacy,
) -> CertifyResult:
    """Cohen et al. CERTIFY of one input with separate selection and estimation samples.

    See the module docstring for the algorithm, the seeding and the labelling.

    Args:
      model: a :class:`sampler.models.Model`: a :class:`sampler.models.VLM` (texts) or an
        :class:`sampler.models.ImageClassifier` (class ids).
      image: the clean image, ``(3, H, W)`` float in ``[0, 1]``.
      prompt: the question for a VLM; None for a classifier.
      config: the :class:`CertifyConfig` (``n0``, ``n``, ``sigma``, ``alpha``, ``seed``,
        ``batch_size``, ``oracle_error``, ``decoding``, ``num_classes``, ``keep_texts``),
        without a sequential rule. ``oracle_error`` goes to :func:`rstheory.certify` (with
        ``num_classes`` of this input for a symmetric rate); a per-class ``RateBounds`` or a
        :class:`sampler.oracles.OracleErrorRates` gives the rates of the selected class.
      oracle: for a VLM, an oracle mapping texts to class ids (``RefusalJudge``,
        ``ActionParser``, ``LLMJudge``, any :class:`sampler.oracles.Oracle`) or a
        :class:`sampler.oracles.SemanticClusterer` (or any object with its ``select``
        method); None for a classifier, whose class ids are the labels.
      device: where the noise is drawn; default (None) the model's device. It must be of
        the model's device type; CPU and CUDA generators give different streams.
      legacy: release 0.1's flat keywords (``n0=``, ``n=``, ``sigma=``, ``alpha=``,
        ``seed=``, ``batch_size=``, ``oracle_eps=``, ``oracle_rates=``, ``keep_texts=``,
        ``num_classes=``) instead of ``config``: deprecated, they build the configuration
        with a :class:`DeprecationWarning`.

    Returns:
      :class:`CertifyResult`; its counts load into :mod:`rstheory` directly.

    Raises:
      ValueError: a bad argument (the message names it), a VLM without an oracle, a
        classifier with one, or labels outside ``[0, num_classes)``.

    Example (a classifier that always answers class 2):
      >>> import torch
      >>> from sampler.certify import CertifyConfig, certify
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
    """
    start = time.perf_counter()
    cfg = config_from_keywords(config, legacy, func="certify")
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
