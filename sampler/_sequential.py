"""Sequential certification of one input: stop the estimation as soon as the answer is clear.

:func:`certify_sequential` is :func:`sampler.certify.certify` with the fixed ``n`` replaced
by the anytime-valid rule of :mod:`rstheory.sequential` at a target radius ``r``:

1. *selection*: ``n0`` noisy copies, labelled; the selected class is ``argmax`` of their
   counts (ties to the lower id), exactly as in :func:`~sampler.certify.certify` (same
   seeds, same code);
2. *estimation*, batch by batch: after each batch of ``batch_size`` copies (the
   checkpoints ``batch_size, 2 batch_size, ..., n_max``), with ``k`` votes for the selected
   class among the ``n`` so far, stop and **certify** when ``k >= k_certify(n)`` (the
   confidence sequence's lower end reaches ``p* = Phi(r / sigma)``), stop for **futility**
   when ``k <= k_futile(n)`` (its upper end is below ``p*``), else go on until ``n_max``.
   The boundaries come from :func:`rstheory.sequential.boundaries`.

With probability at least ``1 - alpha`` the reported ``p_lower`` (the confidence
sequence's lower end at the stop) is below the true ``p_A`` of the selected class, however
the stop was reached, so the reported radius ``sigma Phi^-1(p_lower)`` is valid; in
particular ``P[certify radius >= r while p_A < p*] <= alpha``.

**Prefix property.** The estimation noise and decoding seeds are those of
:func:`~sampler.certify.certify` (the same :class:`sampler._certify._Stream`), and forward
batches have ``batch_size`` copies in both, so the ``n`` estimation draws of a sequential
run equal the first ``n`` draws of ``certify(..., n=n_fixed, batch_size=batch_size)`` with
the same seed, for any ``n_fixed >= n``: the two rules see the same data and differ only
in when they stop.

Oracle-error corrections (``oracle_eps``, ``oracle_rates`` of ``certify``) are not offered:
they change the bound on ``p_A`` and hence the boundaries.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import numpy as np
import torch

import rstheory
from rstheory import sequential as _seq
from rstheory._confseq import betabinomial_cs
from sampler._certify import Timings, _check_call, _check_count, _Selection, _streams
from sampler._models import NoiseSpec
from sampler._votes import count_votes

__all__ = ["CERTIFIED", "FUTILITY", "N_MAX", "SequentialResult", "certify_sequential"]

CERTIFIED = "certified"
FUTILITY = "futility"
N_MAX = "n_max"


def _boundaries(radius, sigma, alpha, batch_size, n_max, prior):
    """:func:`rstheory.sequential.boundaries`, computed once per rule in a process (a
    campaign certifies many inputs with the same rule)."""
    return _cached_boundaries(
        float(radius),
        float(sigma),
        float(alpha),
        batch_size,
        n_max,
        None if prior is None else tuple(float(x) for x in prior),
    )


@functools.lru_cache(maxsize=64)
def _cached_boundaries(radius, sigma, alpha, batch_size, n_max, prior):
    return _seq.boundaries(
        radius=radius, sigma=sigma, alpha=alpha, batch_size=batch_size, n_max=n_max, prior=prior
    )


@dataclasses.dataclass(frozen=True)
class SequentialResult:
    """Result of :func:`certify_sequential` for one input.

    Attributes:
      stop_reason: ``"certified"`` (radius ``>= radius_target`` certified), ``"futility"``
        (the upper bound fell below ``p*``: abstain at the target) or ``"n_max"`` (neither
        by ``n_max``: abstain at the target).
      certified: ``stop_reason == "certified"``.
      radius_target: the target radius ``r``; ``p_star = Phi(r / sigma)``.
      p_lower, p_upper: the anytime-valid confidence sequence ``(low, high)`` at the stop,
        level ``alpha`` (:func:`rstheory._confseq.betabinomial_cs` with ``prior``).
      radius: ``sigma Phi^-1(p_lower)`` where ``p_lower > 1/2``, else 0; valid whatever the
        stop reason (``>= radius_target`` exactly when certified, up to float rounding).
      top_class: the class selected from the ``n0`` selection samples (ties to the lower id).
      k: estimation votes for ``top_class`` among the ``n`` drawn.
      n: estimation samples drawn (a checkpoint, ``<= n_max``); ``n0``: selection samples;
        ``samples = n0 + n``.
      looks: checkpoints evaluated.
      selection_counts, estimation_counts: int64 tensors ``(num_classes,)``.
      selection_labels, estimation_labels: int64 tensors ``(n0,)`` and ``(n,)``, draw order.
      selection_texts, estimation_texts: the answers when ``keep_texts`` (VLMs), else None.
      num_classes, class_names: as :class:`sampler.certify.CertifyResult`.
      boundaries: the :class:`rstheory.sequential.Boundaries` of the rule.
      prior: the mixture prior ``(a, b)`` used; ``alpha``, ``sigma``, ``batch_size``,
        ``n_max``: the configuration.
      noise: the :class:`sampler.models.NoiseSpec`; ``timings``: :class:`sampler.certify.Timings`;
      seeds: the derived seeds (as ``certify``).
    """

    stop_reason: str
    certified: bool
    radius_target: float
    p_star: float
    p_lower: float
    p_upper: float
    radius: float
    top_class: int
    k: int
    n: int
    n0: int
    samples: int
    looks: int
    selection_counts: torch.Tensor
    estimation_counts: torch.Tensor
    selection_labels: torch.Tensor
    estimation_labels: torch.Tensor
    selection_texts: tuple[str, ...] | None
    estimation_texts: tuple[str, ...] | None
    num_classes: int
    class_names: tuple[str, ...] | None
    boundaries: Any
    prior: tuple[float, float]
    alpha: float
    sigma: float
    batch_size: int
    n_max: int
    noise: NoiseSpec
    timings: Timings
    seeds: dict[str, int]

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready numbers."""
        return {
            "stop_reason": self.stop_reason,
            "certified": self.certified,
            "radius_target": self.radius_target,
            "radius": self.radius,
            "p_lower": self.p_lower,
            "p_upper": self.p_upper,
            "top_class": self.top_class,
            "k": self.k,
            "n": self.n,
            "n0": self.n0,
            "samples": self.samples,
            "looks": self.looks,
            "selection_counts": self.selection_counts.tolist(),
            "estimation_counts": self.estimation_counts.tolist(),
            "n_max": self.n_max,
            "batch_size": self.batch_size,
        }


def certify_sequential(
    model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    oracle=None,
    n0: int,
    radius: float,
    sigma: float,
    alpha: float,
    n_max: int,
    seed: int,
    batch_size: int = 32,
    prior=None,
    keep_texts: bool = False,
    num_classes: int | None = None,
    device: str | torch.device | None = None,
) -> SequentialResult:
    """Certify radius ``radius`` of one input, stopping the estimation as early as the data allow.

    See the module docstring for the rule, its guarantee and the prefix property.

    Args:
      model, image, prompt, oracle, n0, sigma, alpha, seed, keep_texts, num_classes,
        device: as :func:`sampler.certify.certify`.
      radius: the target radius ``> 0`` (``p* = Phi(radius / sigma)`` must be below 1).
      n_max: largest number of estimation samples, an int ``>= 1``.
      batch_size: copies per forward pass and between two looks, an int ``>= 1``.
      prior: ``(a, b)`` of the confidence sequence's beta mixture; default
        :func:`rstheory.sequential.default_prior` ``(p*)``.

    Returns:
      :class:`SequentialResult`.

    Raises:
      ValueError: a bad argument (the message names it), a VLM without an oracle, a
        classifier with one.

    Example (a classifier that always answers class 2):
      >>> import torch
      >>> from sampler.certify import certify_sequential
      >>> from sampler.models import ImageClassifier
      >>> class Two(torch.nn.Module):
      ...     def forward(self, x):
      ...         return torch.nn.functional.one_hot(torch.full((len(x),), 2), 3).float()
      >>> res = certify_sequential(ImageClassifier(Two()), torch.rand(3, 4, 4), n0=10,
      ...     radius=0.25, sigma=0.25, alpha=0.001, n_max=1000, batch_size=20, seed=0,
      ...     num_classes=3)
      >>> res.stop_reason, res.top_class, res.n, res.k, round(res.radius, 4)
      ('certified', 2, 80, 80, 0.254)
    """
    start = time.perf_counter()
    n0, batch_size, seed, sigma, dev = _check_call(
        model,
        n0=n0,
        batch_size=batch_size,
        seed=seed,
        sigma=sigma,
        alpha=alpha,
        oracle=oracle,
        num_classes=num_classes,
        device=device,
    )
    n_max = _check_count("n_max", n_max)
    bounds = _boundaries(radius, sigma, alpha, batch_size, n_max, prior)
    seeds, selection, estimation = _streams(
        model, image, prompt, sigma=sigma, batch_size=batch_size, seed=seed, device=dev
    )
    sel_preds, t_sel = selection.draw(n0)
    t = time.perf_counter()
    sel = _Selection.label(sel_preds, oracle=oracle, prompt=prompt, n0=n0)
    t_oracle = time.perf_counter() - t
    top_class = sel.top_class()

    t_est = 0.0
    labels: list[torch.Tensor] = []
    texts: list[str] = []
    k = n = 0
    reason = N_MAX
    looks = 0
    for j, n_j in enumerate(bounds.checkpoints.tolist()):
        preds, dt = estimation.draw(n_j - n)
        t_est += dt
        t = time.perf_counter()
        batch = sel.label_more(preds, prompt=prompt, name="estimation", expected=n_j - n)
        t_oracle += time.perf_counter() - t
        if not isinstance(preds, torch.Tensor):
            texts.extend(preds)
        labels.append(batch)
        k += int((batch == top_class).sum())
        n = n_j
        looks = j + 1
        if k >= bounds.k_certify[j]:
            reason = CERTIFIED
            break
        if k <= bounds.k_futile[j]:
            reason = FUTILITY
            break

    est = torch.cat(labels)
    num_classes = sel.resolve_num_classes(model, num_classes, est)
    sel_counts = count_votes(sel.labels, num_classes)
    est_counts = count_votes(est, num_classes)
    ci = betabinomial_cs(k, n, alpha=alpha, prior=bounds.prior)
    low, high = float(ci.low), float(ci.high)
    radius_cert = float(rstheory.certified_radius(np.float64(low), sigma=sigma))
    keep = bool(keep_texts) and sel.texts is not None
    return SequentialResult(
        stop_reason=reason,
        certified=reason == CERTIFIED,
        radius_target=float(radius),
        p_star=bounds.p_star,
        p_lower=low,
        p_upper=high,
        radius=radius_cert,
        top_class=top_class,
        k=k,
        n=n,
        n0=n0,
        samples=n0 + n,
        looks=looks,
        selection_counts=sel_counts,
        estimation_counts=est_counts,
        selection_labels=sel.labels,
        estimation_labels=est,
        selection_texts=sel.texts if keep else None,
        estimation_texts=tuple(texts) if keep else None,
        num_classes=num_classes,
        class_names=sel.class_names,
        boundaries=bounds,
        prior=bounds.prior,
        alpha=float(alpha),
        sigma=sigma,
        batch_size=batch_size,
        n_max=n_max,
        noise=selection.noise,
        timings=Timings(t_sel, t_est, t_oracle, time.perf_counter() - start),
        seeds=seeds,
    )
