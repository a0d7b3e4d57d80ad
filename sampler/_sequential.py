"""Sequential certification of one input: stop the estimation as soon as the answer is clear.

:func:`sampler.certify.certify` with a configuration whose ``sequential`` field is a
:class:`sampler.certify.SequentialRule` runs :func:`run_sequential`: the fixed-``n`` rule
with its fixed ``n`` replaced by the anytime-valid rule of :mod:`rstheory.sequential` at a
target radius ``r``:

1. *selection*: ``n0`` noisy copies, labelled; the selected class is ``argmax`` of their
   counts (ties to the lower id), exactly as in :func:`~sampler.certify.certify` (same
   seeds, same code: :mod:`sampler._draws`);
2. *estimation*, look by look: every ``L`` copies (the rule's ``look_every``, default
   ``batch_size``; the checkpoints ``L, 2 L, ..., n_max``), with ``k`` votes for the
   selected class among the ``n`` so far, stop and **certify** when ``k >= k_certify(n)``
   (the confidence sequence's lower end reaches ``p* = Phi(r / sigma)``), stop for
   **futility** when ``k <= k_futile(n)`` (its upper end is below ``p*``), else go on until
   ``n_max``. The boundaries come from :func:`rstheory.sequential.boundaries` with its
   look spacing ``batch_size=L``.

With probability at least ``1 - alpha`` the reported ``p_lower`` (the confidence
sequence's lower end at the stop) is below the true ``p_A`` of the selected class, however
the stop was reached, so the reported radius ``sigma Phi^-1(p_lower)`` is valid; in
particular ``P[certify radius >= r while p_A < p*] <= alpha``.

**Prefix property.** The estimation noise and decoding seeds are those of
:func:`~sampler.certify.certify` with a fixed ``n`` (the same
:class:`sampler._draws.Stream`, set up by the same :func:`sampler._draws.begin_call`), and
forward batches have ``batch_size`` copies in both, so the ``n`` estimation draws of a
sequential run equal the first ``n`` draws of ``certify`` with ``CertifyConfig(n=n_fixed,
batch_size=batch_size, ...)`` and the same seed, for any ``n_fixed >= n``: the two rules
see the same data and differ only in when they stop. This needs every look but the last
to end a forward batch: a ``Stream.draw(count)`` cuts its ``count`` copies into forward
batches from where it starts, so a look spacing that ``batch_size`` does not divide would
end a draw with a short batch and shift every later batch (its decoding seed, and for
some noise generators its noise). :class:`sampler.certify.SequentialRule` therefore
requires ``look_every`` to be a multiple of ``batch_size`` (checked by
:class:`~sampler.certify.CertifyConfig`); only the last look, at ``n_max``, may end a
short batch, as a fixed-``n`` run with ``n = n_max`` does.

Oracle-error corrections (``oracle_error`` of the configuration) are not offered: they
change the bound on ``p_A`` and hence the boundaries.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch

import rstheory
from rstheory import sequential as _seq
from rstheory.bounds import betabinomial_cs
from sampler._config import CertifyConfig
from sampler._draws import Selection, begin_call
from sampler._results import SequentialResult, Timings
from sampler._votes import count_votes

__all__ = ["CERTIFIED", "FUTILITY", "N_MAX", "SequentialResult"]

CERTIFIED = "certified"
FUTILITY = "futility"
N_MAX = "n_max"


@functools.lru_cache(maxsize=64)
def _boundaries(radius, sigma, alpha, batch_size, n_max, prior):
    """:func:`rstheory.sequential.boundaries`, computed once per rule in a process (a
    campaign certifies many inputs with the same rule). The arguments come from a
    validated :class:`CertifyConfig` (floats, ints, a tuple prior), so they hash as is."""
    return _seq.boundaries(
        radius=radius, sigma=sigma, alpha=alpha, batch_size=batch_size, n_max=n_max, prior=prior
    )


def run_sequential(
    model,
    image: torch.Tensor,
    prompt: str | None,
    *,
    config: CertifyConfig,
    oracle,
    device: str | torch.device | None,
    start: float | None = None,
) -> SequentialResult:
    """The sequential rule on one input, for :func:`sampler.certify.certify` with a
    configuration that has a sequential rule (checked there): what ``certify`` returns.

    See the module docstring for the rule, its guarantee and the prefix property; the
    arguments are :func:`sampler.certify.certify`'s, ``config.sequential`` the
    :class:`sampler.certify.SequentialRule` (``radius``, ``n_max``, ``prior``) and
    ``config.look_every`` the number of copies between two looks (a multiple of
    ``config.batch_size``; default ``batch_size``). ``start``: the
    ``time.perf_counter()`` at which the call began (default now), for the total time.
    """
    start = time.perf_counter() if start is None else start
    cfg = config
    if cfg.sequential is None:
        raise ValueError("run_sequential needs a config with a sequential rule (sequential=...)")
    model, seeds, selection, estimation = begin_call(
        model, image, prompt, config=cfg, oracle=oracle, device=device
    )
    rule = cfg.sequential
    n0, batch_size, sigma, alpha, n_max = cfg.n0, cfg.batch_size, cfg.sigma, cfg.alpha, rule.n_max
    look_every = cfg.look_every
    bounds = _boundaries(rule.radius, sigma, alpha, look_every, n_max, rule.prior)
    sel_preds, t_sel = selection.draw(n0)
    t = time.perf_counter()
    sel = Selection.label(sel_preds, oracle=oracle, prompt=prompt, n0=n0)
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
    num_classes = sel.resolve_num_classes(model, cfg.num_classes, est)
    sel_counts = count_votes(sel.labels, num_classes=num_classes)
    est_counts = count_votes(est, num_classes=num_classes)
    ci = betabinomial_cs(k, n, alpha=alpha, prior=bounds.prior)
    low, high = float(ci.low), float(ci.high)
    radius_cert = float(rstheory.certified_radius(np.float64(low), sigma=sigma))
    keep = cfg.keep_texts and sel.texts is not None
    return SequentialResult(
        stop_reason=reason,
        certified=reason == CERTIFIED,
        radius_target=rule.radius,
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
        alpha=alpha,
        sigma=sigma,
        batch_size=batch_size,
        look_every=look_every,
        n_max=n_max,
        noise=selection.noise,
        timings=Timings(t_sel, t_est, t_oracle, time.perf_counter() - start),
        seeds=seeds,
    )
