"""Predict with the smoothed model, or abstain: Cohen et al.'s PREDICT for any model.

Cohen, Rosenfeld & Kolter (2019), "Certified Adversarial Robustness via Randomized
Smoothing", ICML, Sec. 3.2, Algorithm PREDICT, for a :class:`sampler.models.Model` (a VLM's
texts labelled by an oracle, as in Seferis et al. 2025, EMNLP):

1. ``n`` noisy copies ``x + sigma * eps`` of the input, their predictions labelled and
   counted, ``counts[c] = #{i : label_i == c}``;
2. the two most voted classes ``n_A >= n_B`` (:func:`sampler.top_two`, ties to the lower
   id): ``top_class`` is the first;
3. :func:`rstheory.predict.decide` ``(n_A, n_B, alpha=)``: the two-sided binomial test of
   ``n_A`` against ``Binomial(n_A + n_B, 1/2)``; ``top_class`` is returned when its
   p-value is ``<= alpha``, else the call abstains. No statistics are computed here.

Then ``P[a class is returned and it is not g(x)] <= alpha``, with ``g`` the smoothed model
of the labelled predictions (Cohen et al. 2019, Sec. 3.2, Proposition 1).

**Seeding.** One seeded stream (:class:`sampler._draws.Stream`, the stream of
:func:`sampler.certify.certify`): its noise comes from a
:func:`sampler.noise.noise_generator` seeded with ``derive_seed(seed, "predict/noise")``,
sampled decoding from the base seed ``derive_seed(seed, "predict/decoding")``
(:func:`sampler.certify.derive_seed`). The copies are therefore not those of a
certification with the same seed (its selection and estimation streams have other tags),
and the same ``seed`` and ``batch_size`` (on the same device type) give the same copies,
labels and decision.

**Labels.** A classifier's class ids are the labels (``oracle=None``). A VLM's texts go
through ``oracle`` in one call; the oracle's classes must be fixed in advance, so a
:class:`sampler.oracles.SemanticClusterer`, whose classes are made from the texts
themselves, is refused (the test would then choose its classes on its own sample).

**The answer.** For a VLM, ``answer`` is the text of the first copy, in draw order, whose
label is the returned class: a rule fixed before any copy is drawn, deterministic given
the seed; None when the call abstains (and for a classifier).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch

from sampler._config import CertifyConfig, config_from_keywords
from sampler._draws import Selection, Stream, _check_call, derive_seed
from sampler._models import NoiseSpec
from sampler._votes import count_votes, top_two

__all__ = ["PREDICT_STREAMS", "PREDICT_SUMMARY_KEYS", "PredictResult", "predict"]

#: The derived seeds of one :func:`predict` call: ``derive_seed(seed, tag)`` for each tag.
PREDICT_STREAMS = ("predict/noise", "predict/decoding")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PredictResult:
    """Result of :func:`predict` for one input.

    Attributes:
      top_class: the most voted class among the ``n`` copies (ties to the lower id); the
        smoothed prediction unless ``abstain``.
      abstain: True when the test did not separate the top two classes at level ``alpha``
        (PREDICT returns ABSTAIN): ``top_class`` is then not a prediction.
      p_value: the two-sided binomial p-value of ``n_A`` against
        ``Binomial(n_A + n_B, 1/2)`` (:func:`rstheory.predict.decide`).
      counts: int64 tensor ``(num_classes,)``, votes per class; ``counts.sum() == n``.
      runner_up: the second most voted class (``class_b``, ties to the lower id).
      n_a, n_b: the votes of ``top_class`` and ``runner_up``.
      n: noisy copies drawn; alpha: the level of the test; num_classes: ``len(counts)``.
      class_names: the oracle's class names, or None for a classifier.
      labels: int64 tensor ``(n,)``, the class of each copy in draw order.
      answer: for a VLM, the first text in draw order labelled ``top_class``; None on
        abstain and for a classifier.
      texts: every decoded text in draw order when ``keep_texts`` was asked (VLMs only),
        else None.
      noise: the :class:`sampler.models.NoiseSpec` of the copies.
      seconds: wall-clock seconds of the whole call.
      seeds: the derived seeds used (:data:`PREDICT_STREAMS`).
    """

    top_class: int
    abstain: bool
    p_value: float
    counts: torch.Tensor
    runner_up: int
    n_a: int
    n_b: int
    n: int
    alpha: float
    num_classes: int
    class_names: tuple[str, ...] | None
    labels: torch.Tensor
    answer: str | None
    texts: tuple[str, ...] | None
    noise: NoiseSpec
    seconds: float
    seeds: dict[str, int]

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (:data:`PREDICT_SUMMARY_KEYS`): those of a predict row."""
        return {
            "top_class": self.top_class,
            "abstain": self.abstain,
            "p_value": self.p_value,
            "counts": self.counts.tolist(),
            "runner_up": self.runner_up,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "n": self.n,
            "alpha": self.alpha,
            "num_classes": self.num_classes,
            "class_names": None if self.class_names is None else list(self.class_names),
            "answer": self.answer,
        }


#: The keys of :meth:`PredictResult.summary`.
PREDICT_SUMMARY_KEYS = (
    "top_class",
    "abstain",
    "p_value",
    "counts",
    "runner_up",
    "n_a",
    "n_b",
    "n",
    "alpha",
    "num_classes",
    "class_names",
    "answer",
)


def check_predict_config(cfg: CertifyConfig, oracle) -> None:
    """Refuse what :func:`predict` cannot run: an ``oracle_error``, or an oracle whose classes
    are made from the sample (a semantic clusterer). A campaign checks it before any input."""
    if cfg.oracle_error is not None:
        raise ValueError(
            "oracle_error must be None for predict: the test is of the labelled copies "
            "(the oracle-error correction applies to certify's bound)"
        )
    if callable(getattr(oracle, "select", None)):
        raise ValueError(
            "oracle must have classes fixed in advance for predict (a RefusalJudge, an "
            "ActionParser, an LLMJudge), not a SemanticClusterer, whose classes are made "
            "from the sample that the test would then judge"
        )


def predict(
    model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    config: CertifyConfig,
    oracle=None,
    device: str | torch.device | None = None,
) -> PredictResult:
    """Cohen et al.'s PREDICT (2019, Sec. 3.2): the smoothed model's class, or abstain.

    Draws ``config.n`` noisy copies of ``image`` (noise ``sigma`` in ``[0, 1]``-pixel
    units), labels and counts them, and returns the most voted class unless the two-sided
    binomial test of its votes ``n_A`` against those of the runner-up ``n_B``,
    ``n_A ~ Binomial(n_A + n_B, 1/2)``, has a p-value above ``config.alpha``
    (:func:`rstheory.predict.decide`); then ``P[returned class != g(x)] <= alpha``. The
    module docstring gives the seeding, the labels and the answer's rule.

    Args:
      model: a :class:`sampler.models.VLM` (texts) or a
        :class:`sampler.models.ImageClassifier` (class ids).
      image: the clean image, ``(3, H, W)`` float in ``[0, 1]``.
      prompt: the question for a VLM; None for a classifier.
      config: the :class:`sampler.CertifyConfig` of the call: ``n`` (copies), ``sigma``,
        ``alpha`` (the level of the test), ``seed``, ``batch_size``, ``decoding``,
        ``num_classes``, ``keep_texts``. ``n0`` is unused (PREDICT has no selection
        step); ``oracle_error`` must be None and ``sequential`` None.
      oracle: for a VLM, an oracle with fixed classes (``RefusalJudge``, ``ActionParser``,
        ``LLMJudge``, any :class:`sampler.oracles.Oracle`); None for a classifier.
      device: where the noise is drawn; default (None) the model's device.

    Returns:
      :class:`PredictResult`.

    Raises:
      ValueError: a bad argument (the message names it), a VLM without an oracle, a
        classifier with one, a semantic clusterer, an ``oracle_error``, or labels outside
        ``[0, num_classes)``.
      TypeError: no ``config``, or one that is not a :class:`sampler.CertifyConfig`.

    Example (a classifier that always answers class 2, then one that answers at random):
      >>> import torch
      >>> from sampler import CertifyConfig
      >>> from sampler.models import ImageClassifier
      >>> from sampler.predict import predict
      >>> class Two(torch.nn.Module):
      ...     def forward(self, x):
      ...         return torch.nn.functional.one_hot(torch.full((len(x),), 2), 3).float()
      >>> cfg = CertifyConfig(n0=1, n=50, sigma=0.25, alpha=0.001, seed=0, num_classes=3)
      >>> res = predict(ImageClassifier(Two()), torch.rand(3, 4, 4), config=cfg)
      >>> res.top_class, res.abstain, res.counts.tolist()
      (2, False, [0, 0, 50])
      >>> class Coin(torch.nn.Module):  # the sign of one noisy pixel: a fair coin
      ...     def forward(self, x):
      ...         return torch.stack([x[:, 0, 0, 0] - 0.5, 0.5 - x[:, 0, 0, 0]], -1)
      >>> res = predict(ImageClassifier(Coin()), torch.full((3, 4, 4), 0.5), config=cfg)
      >>> res.abstain, res.counts.sum().item()
      (True, 50)
    """
    from rstheory.predict import decide

    start = time.perf_counter()
    cfg = config_from_keywords(config, {}, func="predict", sequential=False, mode=None)
    check_predict_config(cfg, oracle)
    model, dev = _check_call(model, cfg, oracle=oracle, device=device)
    seeds = {tag: derive_seed(cfg.seed, tag) for tag in PREDICT_STREAMS}
    stream = Stream(
        model,
        image,
        prompt,
        sigma=cfg.sigma,
        batch_size=cfg.batch_size,
        seeds=seeds,
        name="predict",
        device=dev,
    )
    preds, _ = stream.draw(cfg.n)
    labelled = Selection.label(preds, oracle=oracle, prompt=prompt, n0=cfg.n)
    num_classes = labelled.resolve_num_classes(model, cfg.num_classes)
    counts = count_votes(labelled.labels, num_classes=num_classes)
    # top_two needs two classes: a one-class count has a runner-up with 0 votes.
    padded = counts if num_classes >= 2 else torch.cat([counts, counts.new_zeros(1)])
    two = top_two(padded)
    n_a, n_b = int(two.n_a), int(two.n_b)
    decision = decide(n_a, n_b, alpha=cfg.alpha)
    abstain = bool(decision.abstain)
    top_class = int(two.class_a)
    answer = None
    if labelled.texts is not None and not abstain:
        first = int(torch.nonzero(labelled.labels == top_class)[0, 0])
        answer = labelled.texts[first]
    keep = cfg.keep_texts and labelled.texts is not None
    return PredictResult(
        top_class=top_class,
        abstain=abstain,
        p_value=float(decision.p_value),
        counts=counts,
        runner_up=int(two.class_b),
        n_a=n_a,
        n_b=n_b,
        n=cfg.n,
        alpha=cfg.alpha,
        num_classes=num_classes,
        class_names=labelled.class_names,
        labels=labelled.labels,
        answer=answer,
        texts=labelled.texts if keep else None,
        noise=stream.noise,
        seconds=time.perf_counter() - start,
        seeds=seeds,
    )
