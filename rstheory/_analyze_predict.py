r"""What other sample sizes would have given: exact expected ACR and certified accuracy at other n.

From a log with recovered counts (:class:`rstheory.analyze.CertificationLog`, ``n`` known),
input ``i``'s probability of its true class is ``p_i = k_i / n`` when it was certified
correctly and 0 otherwise (wrong or abstained: its true-class probability is not in the
log; with ``p_i <= 1/2`` it gets no radius at any ``n`` either, so this errs low only for
abstentions with ``p_i`` just above 1/2). Pr(p_A) is then ``model="empirical"`` (each
``p_i`` an atom, :class:`rstheory.distributions.Empirical`) or ``model="fit"`` (the beta
density with atoms of :func:`rstheory.distributions.fit` on the counts, which does not
mistake the binomial noise of ``k_i`` for spread in ``p``).

The prediction at ``n`` is exact under that law (:mod:`rstheory._exact`: sums over
``K ~ Binomial(n, p)`` of ``R = sigma Phi^-1(cp_lower(K, n, alpha))``, no CLT):

* **single-stage** (``n0 = 0``; the same samples choose and bound the class, Seferis et
  al. 2024): a correct certificate needs ``cp_lower(K) > 1/2``, so ``K > n/2`` and the true
  class is the top one; ``E[ACR_n] = E_p E_K[R]`` exactly.
* **two-stage** (``n0 > 0``; Cohen et al. 2019, CERTIFY): the selection draws ``n0`` fresh
  samples; it picks the true class with a probability ``s(p)`` between
  ``Pr[Binomial(n0, p) > n0/2]`` (a majority wins whatever the other classes) and 1, so
  ``E_p[s(p) E_K[R]]`` lies between the two printed values ``low`` and ``high``.

Which one is assumed is ``Prediction.stages``; ``n0`` defaults to the run's.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import scipy.stats

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._distributions import Empirical
from rstheory._exact import dist_quadrature, exact_sums
from rstheory._fit import fit
from rstheory._planning import required_samples
from rstheory._validation import (
    check_alpha,
    check_choice,
    check_int,
    check_real,
    check_sample_sizes,
)

__all__ = ["MODELS", "Prediction", "input_probabilities", "predict"]

MODELS = ("empirical", "fit")


class Prediction(NamedTuple):
    """Result of :func:`predict`.

    Attributes:
      n: the sample sizes, int64 ``(s,)``; radii: the accuracy radii ``(r,)``.
      acr, acr_low: expected ACR, ``(s,)`` (``acr_low < acr`` only for two-stage: the
        selection bound of the module docstring).
      accuracy, accuracy_low: expected certified accuracy, ``(s, r)``.
      run_n, run_acr: the run's ``n`` and its measured ACR; run_expected: the model's
        expected ACR at ``run_n`` (same protocol).
      alpha: the certificate level of the predicted runs.
      model: ``"empirical"`` or ``"fit"``; stages: ``"single-stage"`` or
        ``"two-stage (n0 = N0)"``; n0: the selection samples assumed.
      target_ratio, target_n: with ``target_ratio``, the smallest ``n`` whose expected ACR
        (``acr_low`` for two-stage) is at least ``target_ratio`` times the expected at ``run_n``.
    """

    n: np.ndarray
    radii: np.ndarray
    acr: np.ndarray
    acr_low: np.ndarray
    accuracy: np.ndarray
    accuracy_low: np.ndarray
    run_n: int
    run_acr: float
    run_expected: float
    alpha: float
    model: str
    stages: str
    n0: int
    target_ratio: float | None
    target_n: int | None


@dataclasses.dataclass(frozen=True)
class _Weighted:
    """A law of ``p`` given by its quadrature (``weights`` summing to 1)."""

    nodes: np.ndarray
    weights: np.ndarray

    def quadrature(self, num: int = 64):
        return self.nodes, self.weights


def input_probabilities(log) -> np.ndarray:
    """``p_i = k_i / n`` for correctly certified inputs, 0 for the others, float64 ``(m,)``.

    Raises:
      ValueError: the log has no counts (its ``n`` is unknown).
    """
    if log.k is None or log.n is None:
        raise ValueError(f"{log.path}: predicting other n needs the run's n: pass n= (--n)")
    ok = log.correct & (log.k >= 0)
    return np.where(ok, log.k / log.n, 0.0)


def predict(
    log, n, *, model="empirical", n0=None, alpha=None, radii=(0.0,), target_ratio=None
) -> Prediction:
    """Exact expected ACR and certified accuracy of the log's inputs at other ``n``.

    Args:
      log: a :class:`rstheory.analyze.CertificationLog` with ``n`` known.
      n: sample sizes, integers ``>= 1``, ``(s,)``.
      model: ``"empirical"`` or ``"fit"`` (module docstring).
      n0: selection samples of the predicted runs (0: single-stage); default the run's.
      alpha: certificate level of the predicted runs; default the run's.
      radii: radii of the certified accuracy, each ``>= 0`` (``0``: certified at all).
      target_ratio: in ``(0, 1)``: also find the smallest ``n`` reaching this fraction of
        the expected ACR at the run's ``n``.

    Example:
      >>> from rstheory import analyze
      >>> log = analyze.read_log(
      ...     "data/p2-certifications/cifar10_resnet110_sigma0.5_alpha0.001_n1000.csv")
      >>> pred = analyze.predict(log, [100, 1000])
      >>> pred.stages, [round(float(v), 3) for v in pred.acr], round(pred.run_acr, 3)
      ('single-stage', [0.276, 0.431], 0.43)
    """
    check_choice(model, name="model", choices=MODELS)
    ns = check_sample_sizes(n)
    n0 = log.n0 if n0 is None else check_int(n0, name="n0", low=0)
    if n0 is None:
        raise ValueError(
            f"{log.path}: the run's selection samples are unknown: pass n0= "
            "(--n0; 0 for single-stage)"
        )
    alpha = log.alpha if alpha is None else alpha
    check_alpha(alpha)
    alpha = float(alpha)
    r = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    for x in r:
        check_real(x, name="radii", low=0.0)
    p = input_probabilities(log)
    if model == "empirical":
        law = Empirical(p)
    else:
        k = np.where(p > 0, log.k, 0)
        law = fit(k, np.full(k.size, log.n)).distribution
    nodes, weights = dist_quadrature(law)
    sel = scipy.stats.binom.sf(n0 // 2, n0, nodes) if n0 > 0 else np.ones_like(nodes)
    z = float(weights @ sel)
    quads = [(nodes, weights), (nodes, weights * sel)]
    grid = np.unique(np.append(ns, log.n))
    ex = exact_sums(quads, grid, alpha, log.sigma, r)
    at = np.searchsorted(grid, ns)
    run = int(np.searchsorted(grid, log.n))
    high_radius, low_radius = ex.radius[0], ex.radius[1]
    two = n0 > 0
    target_n = None
    if target_ratio is not None:
        t = check_real(
            target_ratio, name="target_ratio", low=0.0, high=1.0, low_open=True, high_open=True
        )
        w = weights * sel / z if two else weights
        target_n = int(
            required_samples(
                _Weighted(nodes, w),
                alpha=alpha,
                sigma=log.sigma,
                target_ratio=t,
                reference_n=log.n,
            ).n
        )
    run_expected = low_radius[run] if two else high_radius[run]
    return Prediction(
        n=ns,
        radii=r,
        acr=high_radius[at],
        acr_low=low_radius[at] if two else high_radius[at],
        accuracy=ex.accuracy[0][at],
        accuracy_low=ex.accuracy[1][at] if two else ex.accuracy[0][at],
        run_n=int(log.n),
        run_acr=log.acr(),
        run_expected=float(run_expected),
        alpha=alpha,
        model=model,
        stages=f"two-stage (n0 = {n0})" if two else "single-stage",
        n0=int(n0),
        target_ratio=None if target_ratio is None else float(target_ratio),
        target_n=target_n,
    )
