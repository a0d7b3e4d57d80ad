"""Differentiable objectives of :mod:`sampler.attack`: per-copy log-probabilities, and the
losses of the base and of the smoothed model built from them.

**Per-copy score** ``s(x)``, a log-probability the attack pushes down (``sign = -1``) or up
(``sign = +1``), for a batch of pixels ``(b, *shape)`` in ``[0, 1]``:

* a classifier (:class:`sampler.models.ImageClassifier`): ``s(x) = log softmax(f(x))_y``
  with ``y`` the clean prediction, ``sign = -1`` (untargeted: ``-s`` is the cross-entropy);
* a VLM (:class:`sampler.models.VLM`), under teacher forcing: the prompt's tokens
  followed by the tokens ``t_1..t_T`` of an answer text ``a``,
  ``s(x) = sum_j log p(t_j | prompt, image x, t_<j)``, the log-probability that the model
  answers ``a`` (the logits of positions ``P-1 .. P+T-2`` for a prompt of ``P`` tokens).
  ``direction="away"`` (``sign = -1``): make ``a`` unlikely, e.g. ``a`` the refusal the
  model gives on the clean image; ``direction="toward"`` (``sign = +1``): make ``a``
  likely, e.g. a compliant answer ("Sure, here is") or the text of another answer class.
  This is a surrogate: the success of the attack is judged on the generated text's oracle
  class (:mod:`sampler._attack_judge`), never on ``s``.

**Losses** (maximised by :func:`sampler._attack_pgd.l2_pgd`):

* the base model: ``L(x) = sign * s(x)``;
* the smoothed model (Salman et al. 2019, "Provably Robust Deep Learning via Adversarially
  Trained Smoothed Classifiers", NeurIPS, Sec. 3, Eq. (S) / SmoothAdv): the loss of the
  averaged probability over ``m`` Gaussian draws ``x + sigma * z_i``,
  ``L(x) = sign * log((1/m) sum_i exp(s(x + sigma z_i)))`` (a log-sum-exp), whose gradient
  is the gradient of the log of the Monte Carlo estimate of the smoothed probability
  ``E_z p(x + sigma z)``. The noisy copies are not clipped (as in certification,
  :func:`sampler.noise.add_gaussian_noise`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from sampler._validation import check_choice, check_count, check_sigma

__all__ = [
    "DIRECTIONS",
    "answer_ids",
    "base_loss",
    "classifier_scores",
    "smoothed_loss",
    "vlm_scores",
]

#: ``direction`` of a VLM objective -> ``sign``.
DIRECTIONS = {"away": -1.0, "toward": 1.0}


def _wide(logits: torch.Tensor) -> torch.Tensor:
    """Logits in float32 at least (a bf16 model's log-softmax in float32; float64 kept)."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def classifier_scores(model, *, label: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``s(x) = log softmax(f(x))_label`` of an :class:`sampler.models.ImageClassifier`,
    ``(b, 3, h, w) -> (b,)``, differentiable (the adapter's ``module`` and
    ``normalization``, as its ``predict`` uses them).

    Example:
      >>> import torch
      >>> from sampler.models import ImageClassifier
      >>> clf = ImageClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3)))
      >>> s = classifier_scores(clf, label=1)(torch.rand(4, 3, 2, 2))
      >>> s.shape, bool((s <= 0).all())
      (torch.Size([4]), True)
    """

    def scores(pixels: torch.Tensor) -> torch.Tensor:
        out = model.module(model.normalization(pixels, dtype=model.dtype))
        logits = getattr(out, "logits", out)
        return torch.log_softmax(_wide(logits), dim=-1)[:, label]

    return scores


def answer_ids(model, text: str) -> torch.Tensor:
    """The token ids ``(T,)`` of an answer text, without special tokens, on the model's
    device; a ValueError for a text of no tokens."""
    tokenizer = getattr(model.processor, "tokenizer", model.processor)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    if ids.numel() == 0:
        raise ValueError(f"text must tokenize to at least one token, got {text!r}")
    return ids.to(model.device)


def vlm_scores(model, prepared, *, text: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """``s(x)``: the teacher-forced log-probability of the answer ``text`` after
    ``prepared``'s prompt, ``(b, *prepared.pixels.shape) -> (b,)``, differentiable in the
    pixels (one forward pass of ``model.model`` with the prompt and answer tokens; the
    pixels normalized by ``model.normalization`` as in generation)."""
    target = answer_ids(model, text)
    prompt_ids = prepared.inputs["input_ids"]
    length, count = prompt_ids.shape[1], target.numel()
    ids = torch.cat([prompt_ids, target[None]], dim=1)
    others = {k: v for k, v in prepared.inputs.items() if k not in ("input_ids", "attention_mask")}

    def scores(pixels: torch.Tensor) -> torch.Tensor:
        b = pixels.shape[0]
        out = model.model(
            input_ids=ids.expand(b, -1),
            attention_mask=torch.ones_like(ids).expand(b, -1),
            pixel_values=model.normalization(pixels, dtype=model.dtype),
            **{k: v.expand(b, *v.shape[1:]) for k, v in others.items()},
        )
        logits = _wide(out.logits[:, length - 1 : length + count - 1])
        logp = torch.log_softmax(logits, dim=-1)
        return logp.gather(-1, target.expand(b, -1)[..., None])[..., 0].sum(-1)

    return scores


def base_loss(scores, *, sign: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """``L(x) = sign * s(x)`` of one image ``x`` (no batch axis): the base model's loss."""
    return lambda x: sign * scores(x[None])[0]


def smoothed_loss(
    scores,
    *,
    sign: float,
    sigma: float,
    draws: int,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``L(x) = sign * log mean_i exp(s(x + sigma z_i))`` over ``draws`` Gaussian draws: the
    SmoothAdv loss (module docstring).

    Args:
      scores: a per-copy score, ``(b, *shape) -> (b,)``.
      sign: ``-1`` (push the probability down) or ``+1``.
      sigma: the smoothing noise, ``> 0``, in ``[0, 1]``-pixel units.
      draws: ``m >= 1`` noise draws per evaluation.
      generator: fresh draws ``z`` at every call from it (the attack's steps); or
      noise: fixed draws ``(m, *shape)`` of the standard normal, the same at every call
        (common random numbers, to compare restarts). Exactly one of the two.

    Example (a linear score: the loss is a log-mean-exp of shifted copies):
      >>> import torch
      >>> z = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
      >>> loss = smoothed_loss(lambda x: x.sum(-1), sign=1.0, sigma=0.5, draws=8, noise=z)
      >>> x = torch.zeros(2)
      >>> want = torch.logsumexp(0.5 * z.sum(-1), 0) - torch.log(torch.tensor(8.0))
      >>> bool(torch.isclose(loss(x), want))
      True
    """
    sigma = check_sigma(sigma)
    draws = check_count(draws, name="draws")
    if (generator is None) == (noise is None):
        raise ValueError("give exactly one of generator (fresh draws) and noise (fixed draws)")
    log_m = math.log(draws)

    def loss(x: torch.Tensor) -> torch.Tensor:
        if noise is None:
            z = torch.randn((draws, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
        else:
            z = noise
        return sign * (torch.logsumexp(scores(x[None] + sigma * z), dim=0) - log_m)

    return loss


def check_direction(direction) -> float:
    """The sign of a VLM objective's ``direction`` (``"away"`` or ``"toward"``)."""
    return DIRECTIONS[check_choice(direction, name="direction", choices=tuple(DIRECTIONS))]
