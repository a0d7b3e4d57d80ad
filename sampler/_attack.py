"""L2 PGD against the base or the smoothed model of one input (:func:`attack`), and the
judgement of its success by the model's real decision (:func:`judge`).

The attack works on the prepared pixels (``model.prepare(image, prompt).pixels``, the
model's input resolution, ``[0, 1]``), the space in which the noise of
:func:`sampler.certify.certify` is added and its radius holds: a budget ``eps`` here is
directly comparable with a certified radius ``R``. The optimiser is
:func:`sampler._attack_pgd.l2_pgd` (Madry et al. 2018), the losses those of
:mod:`sampler._attack_loss` (cross-entropy for a classifier, a teacher-forced answer
log-probability for a VLM; Salman et al. 2019's SmoothAdv expectation for the smoothed
model).

**Judging** (:func:`judge`) never uses the surrogate loss:

* ``against="base"``: the model's own decision on the adversarial pixels: a classifier's
  argmax, a VLM's decoded text labelled by the oracle (its configured decoding; greedy by
  default). Success: that class differs from ``clean_class``. Deterministic for a
  classifier and for greedy decoding, so no Monte Carlo error.
* ``against="smoothed"``: Cohen et al.'s PREDICT (2019, Sec. 3.2,
  :func:`sampler.predict.predict`) with ``config.n`` noisy copies at level
  ``config.alpha`` on the adversarial pixels. Success: PREDICT returns a class (does not
  abstain) and it differs from ``clean_class``. An abstention is not a success. By Cohen
  et al. 2019, Proposition 1, PREDICT returns a class other than the smoothed model's ``g(x')``
  with probability at most ``alpha``; so when ``g(x') = clean_class`` (the certificate
  holds) a judged success is a Monte Carlo false alarm of probability ``<= alpha``. Over
  inputs certified at radius ``R`` (each certificate wrong with probability
  ``<= alpha_cert``), the rate of judged successes at budgets ``eps < R`` is therefore at
  most ``alpha_cert + alpha`` whatever the attack
  (:func:`sampler.attack.summarize` tests it with a Clopper-Pearson interval).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch

from sampler._attack_loss import (
    base_loss,
    check_direction,
    classifier_scores,
    smoothed_loss,
    vlm_scores,
)
from sampler._attack_pgd import check_budget, l2_pgd
from sampler._config import CertifyConfig
from sampler._models import Prepared
from sampler._validation import check_choice, check_count, check_int, check_seed, check_sigma

__all__ = ["AGAINST", "AttackResult", "Judgement", "attack", "judge"]

#: What an attack targets: the base model or the smoothed one.
AGAINST = ("base", "smoothed")


def _is_vlm(model) -> bool:
    return hasattr(model, "processor") and hasattr(model, "model")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttackResult:
    """One attack of one input (:func:`attack`).

    Attributes:
      prepared: the input prepared by the model, its pixels replaced by the adversarial
        ones (pass it to :func:`judge`).
      clean: the clean prepared pixels ``(3, h, w)`` (``(tiles, 3, h, w)`` for LLaVA 1.6).
      norm: ``||adversarial - clean||_2 <= eps``.
      eps, against: the budget and the target (``"base"`` / ``"smoothed"``).
      loss: the loss of the kept restart (:mod:`sampler._attack_loss`; for the smoothed
        model under the fixed evaluation noise).
      restart: the kept restart (0: started at the clean pixels).
      seconds: wall-clock seconds of the attack.
    """

    prepared: Prepared
    clean: torch.Tensor
    norm: float
    eps: float
    against: str
    loss: float
    restart: int
    seconds: float


def attack(
    model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    eps: float,
    steps: int = 20,
    step_size: float | None = None,
    restarts: int = 1,
    against: str = "base",
    sigma: float | None = None,
    draws: int = 16,
    label: int | None = None,
    text: str | None = None,
    direction: str = "away",
    seed: int = 0,
) -> AttackResult:
    """L2 PGD on ``image``'s prepared pixels against the base or the smoothed model.

    Maximises, over ``||delta||_2 <= eps`` with pixels in ``[0, 1]``
    (:func:`sampler._attack_pgd.l2_pgd`):

    * a classifier: ``-log softmax(f(x + delta))_label`` (base), or
      ``-log mean_i softmax(f(x + delta + sigma z_i))_label`` over ``draws`` fresh draws
      per step (smoothed, SmoothAdv);
    * a VLM: ``sign * log p(text | prompt, x + delta)`` under teacher forcing (base), or
      ``sign * log mean_i p(text | prompt, x + delta + sigma z_i)`` (smoothed), with
      ``sign = -1`` for ``direction="away"`` (make ``text``, e.g. the clean refusal,
      unlikely) and ``+1`` for ``"toward"`` (make ``text``, e.g. a compliant opening or
      another answer, likely).

    Restarts are compared by the loss at their final point (for the smoothed model under
    one fixed set of ``draws`` draws, the same for all restarts).

    Args:
      model: a :class:`sampler.models.ImageClassifier` or :class:`sampler.models.VLM`.
      image: the clean image ``(3, H, W)`` in ``[0, 1]``.
      prompt: a VLM's question; None for a classifier.
      eps: the L2 budget in ``[0, 1]``-pixel units at the model's resolution, ``>= 0``.
      steps: gradient steps per restart, ``>= 0``.
      step_size: ``> 0``; None: ``2.5 * eps / steps``.
      restarts: ``>= 1``.
      against: ``"base"`` or ``"smoothed"``.
      sigma: the smoothing noise (``> 0``), required for ``"smoothed"``, else None.
      draws: noise draws ``m >= 1`` per gradient of the smoothed loss.
      label: a classifier's class to move away from; None: the base model's clean argmax.
        Must be None for a VLM.
      text: a VLM's teacher-forced answer (required for a VLM, None for a classifier).
      direction: ``"away"`` or ``"toward"`` (a VLM's objective).
      seed: seeds the noise draws and the random starts.

    Returns:
      :class:`AttackResult`.

    Raises:
      ValueError: a bad argument (the message names it and its range).

    Example (a linear two-class classifier at distance 0.1 from its boundary):
      >>> import torch
      >>> from sampler.models import ImageClassifier
      >>> lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
      >>> with torch.no_grad():
      ...     _ = lin[1].weight.copy_(torch.stack([torch.ones(12), -torch.ones(12)]) / 12**0.5 / 2)
      ...     _ = lin[1].bias.copy_(torch.tensor([-1.0, 1.0]) * 12**0.5 / 4)
      >>> clf = ImageClassifier(lin)
      >>> x = torch.full((3, 2, 2), 0.5) + 0.1 / 12**0.5
      >>> res = attack(clf, x, eps=0.15, steps=10)
      >>> round(res.norm, 4), judge(clf, res.prepared, clean_class=0).success
      (0.15, True)
    """
    start = time.perf_counter()
    eps, steps, _, restarts = check_budget(
        eps=eps, steps=steps, step_size=step_size, restarts=restarts
    )
    against = check_choice(against, name="against", choices=AGAINST)
    seed = check_seed(seed)
    draws = check_count(draws, name="draws")
    if against == "smoothed":
        if sigma is None:
            raise ValueError('sigma is required for against="smoothed"')
        sigma = check_sigma(sigma)
    elif sigma is not None:
        raise ValueError('sigma must be None for against="base" (the base model has no noise)')
    sign = check_direction(direction)
    prepared = model.prepare(image, prompt)
    if _is_vlm(model):
        if text is None or not isinstance(text, str):
            raise ValueError("text is required for a VLM: the teacher-forced answer (a str)")
        if label is not None:
            raise ValueError("label must be None for a VLM (its objective is text)")
        scores = vlm_scores(model, prepared, text=text)
    else:
        if text is not None:
            raise ValueError("text must be None for a classifier (its objective is the class)")
        if direction != "away":
            raise ValueError('direction must be "away" for a classifier (untargeted)')
        if label is None:
            label = int(model.predict(prepared, prepared.pixels[None])[0])
        label = check_int(label, name="label", low=0)
        scores = classifier_scores(model, label=label)
    x0 = prepared.pixels
    if against == "base":
        loss = base_loss(scores, sign=sign)
        score = None
    else:
        dev = x0.device
        gen = torch.Generator(device=dev).manual_seed(seed)
        loss = smoothed_loss(scores, sign=sign, sigma=sigma, draws=draws, generator=gen)
        fixed = torch.randn((draws, *x0.shape), generator=gen, device=dev, dtype=x0.dtype)
        fixed_loss = smoothed_loss(scores, sign=sign, sigma=sigma, draws=draws, noise=fixed)

        def score(x):
            with torch.no_grad():
                return float(fixed_loss(x))

    res = l2_pgd(
        loss,
        x0,
        eps=eps,
        steps=steps,
        step_size=step_size,
        restarts=restarts,
        seed=seed,
        score=score,
    )
    return AttackResult(
        prepared=prepared._replace(pixels=res.pixels),
        clean=x0,
        norm=res.norm,
        eps=eps,
        against=against,
        loss=res.score,
        restart=res.restart,
        seconds=time.perf_counter() - start,
    )


class _AtPixels:
    """A model whose ``prepare`` returns fixed (adversarial) prepared inputs; the rest is
    the wrapped model's, so :func:`sampler.predict.predict` runs on those pixels."""

    def __init__(self, model, prepared: Prepared):
        self._model, self._prepared = model, prepared

    def prepare(self, image=None, prompt=None) -> Prepared:
        return self._prepared

    def with_decoding(self, decoding):
        return _AtPixels(self._model.with_decoding(decoding), self._prepared)

    def __getattr__(self, name):
        return getattr(self._model, name)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Judgement:
    """The real decision on adversarial pixels (:func:`judge`).

    Attributes:
      success: the decision is a class, and not ``clean_class``.
      predicted: the class decided (base: argmax / oracle label; smoothed: PREDICT's top
        class, meaningful only when not ``abstain``).
      abstain: PREDICT abstained (always False for the base model).
      p_value: PREDICT's binomial p-value (None for the base model).
      counts: PREDICT's votes per class (None for the base model).
      text: a VLM's decoded answer (base) or PREDICT's answer (smoothed); None otherwise.
    """

    success: bool
    predicted: int
    abstain: bool
    p_value: float | None
    counts: list[int] | None
    text: str | None

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return dataclasses.asdict(self)


def judge(
    model,
    prepared: Prepared,
    prompt: str | None = None,
    *,
    clean_class: int,
    against: str = "base",
    config: CertifyConfig | None = None,
    oracle=None,
) -> Judgement:
    """Whether the model's real decision on ``prepared``'s pixels differs from
    ``clean_class`` (the module docstring gives the rule and its Monte Carlo error).

    Args:
      model: the attacked model.
      prepared: :attr:`AttackResult.prepared` (or any prepared input).
      prompt: a VLM's question (passed to an oracle that reads it).
      clean_class: the class the attack moves away from (base: the clean decision;
        smoothed: the certified class).
      against: ``"base"`` or ``"smoothed"``.
      config: for ``"smoothed"``, the :class:`sampler.CertifyConfig` of PREDICT (``n``,
        ``sigma``, ``alpha``, ``seed``, ``batch_size``, ...); None for ``"base"``.
      oracle: a VLM's oracle with fixed classes; None for a classifier.
    """
    against = check_choice(against, name="against", choices=AGAINST)
    clean_class = check_int(clean_class, name="clean_class", low=0)
    if against == "base":
        if config is not None:
            raise ValueError('config must be None for against="base" (no sampling)')
        out = model.predict(prepared, prepared.pixels[None])
        if isinstance(out, torch.Tensor):
            predicted, text = int(out[0]), None
        else:
            if oracle is None:
                raise ValueError("oracle is required to judge a VLM's answer")
            text = out[0]
            labels = (
                oracle([text], [prompt or ""])
                if getattr(oracle, "uses_request", False)
                else oracle([text])
            )
            predicted = int(labels[0])
        return Judgement(
            success=predicted != clean_class,
            predicted=predicted,
            abstain=False,
            p_value=None,
            counts=None,
            text=text,
        )
    if not isinstance(config, CertifyConfig):
        raise ValueError('config must be a sampler.CertifyConfig for against="smoothed"')
    from sampler._predict import predict

    res = predict(_AtPixels(model, prepared), prepared.pixels, prompt, config=config, oracle=oracle)
    return Judgement(
        success=(not res.abstain) and res.top_class != clean_class,
        predicted=res.top_class,
        abstain=res.abstain,
        p_value=res.p_value,
        counts=res.counts.tolist(),
        text=res.answer,
    )
