r"""Anytime-valid sequential certification: stop as soon as the answer at a radius is clear.

**The rule.** A target radius ``r`` at noise level ``sigma`` needs ``p_A > p*`` with

.. math::
    p^* = \Phi(r / \sigma),

since the certified radius ``sigma Phi^-1(p_lower)`` is at least ``r`` exactly when
``p_lower >= p*``. Estimation samples are drawn in batches of ``batch_size``; after each
batch, at the checkpoints ``n_j = batch_size, 2 batch_size, ..., n_max`` (the last one may
be a partial batch), with ``k_j`` votes for the selected class, the anytime-valid
confidence sequence :func:`rstheory._confseq.betabinomial_cs` ``(k_j, n_j, alpha)`` gives
``(low_j, high_j)`` and the rule

* stops and **certifies** radius ``sigma Phi^-1(low_j) >= r`` as soon as ``low_j >= p*``;
* stops for **futility** (abstains at ``r``) as soon as ``high_j < p*``;
* stops at ``n_max`` otherwise (abstains at ``r``; the radius ``sigma Phi^-1(low)`` of the
  final lower bound, below ``r``, is still valid).

**Guarantee.** ``P[the rule certifies a radius >= r while p_A < p*] <= alpha``, under this
data-dependent stopping. Proof: the confidence sequence covers ``p_A`` at every ``n``
simultaneously with probability ``>= 1 - alpha`` (Ville's inequality for the beta-binomial
mixture martingale), hence also at the random stopping checkpoint; certifying needs
``low >= p* > p_A``, i.e. ``p_A`` outside the sequence at that checkpoint. More generally
every reported radius ``sigma Phi^-1(low)`` is valid with probability ``>= 1 - alpha``.
Re-checking a *fixed-n* Clopper-Pearson bound after every batch has no such guarantee
(its level holds at one pre-set ``n`` only); :func:`operating_characteristics` with
``method="clopper_pearson"`` computes how far above ``alpha`` that naive rule goes.

**Boundaries.** The ends of the sequence are monotone in ``k`` (``low`` and ``high`` do
not decrease as ``k`` grows), so the rule is a pair of integer boundaries per checkpoint:

.. math::
    k^{\mathrm{cert}}_j = \min\{k : \mathrm{low}(k, n_j) \ge p^*\},\qquad
    k^{\mathrm{fut}}_j = \max\{k : \mathrm{high}(k, n_j) < p^*\},

(``n_j + 1`` and ``-1`` where no such ``k`` exists), found for all checkpoints at once by a
vectorised bisection over ``k`` (:func:`boundaries`).

**Exact operating characteristics.** For a true ``p`` the stopping time has an exactly
computable law: forward dynamic programming over the vote count. The mass of the paths
still running at checkpoint ``j - 1`` lives on the band ``k^fut_{j-1} < k < k^cert_{j-1}``;
convolved with the ``Bin(n_j - n_{j-1}, p)`` pmf it gives the law of ``k_j`` on those
paths; the mass at ``k >= k^cert_j`` certifies at ``n_j``, the mass at ``k <= k^fut_j``
stops for futility, the rest stays on the new band. Only the band is stored (its width
grows like ``sqrt(n log n)``), and the recursion runs over all nodes of a distribution of
``p_A`` at once (:func:`operating_characteristics`, :func:`sequential_plan`). Nodes whose
running mass has fallen below ``1e-15`` leave the recursion early; that residual mass is
counted as reaching ``n_max`` undecided, so every reported probability is exact to
``1e-15`` and ``E[samples]`` is an upper bound within ``1e-15 n_max``.

**The default prior.** The mixing prior sets where the sequence is tight. The rule only
ever asks one question, "is ``p_A`` above or below ``p*``", so the default puts the
prior's mean at ``p*`` with a prior sample size of :data:`DEFAULT_PRIOR_SIZE` ``= 30``:
``Beta(30 p*, 30 (1 - p*))``. Measured with the exact recursion on the published CIFAR-10
and ImageNet ``p_A`` distributions (sigma 0.5, alpha 0.001, radii 0.25, 0.5, 1, batches
of 100, ``n_max`` the smallest matching the fixed-``n`` certified fraction at ``n = 1000``
and ``10000``): prior sizes 10 to 100 are within about 5 % of the best ratio
``fixed n / E[N]`` everywhere, size 30 is best or within 3 % in 10 of 12 settings, the
uniform ``Beta(1, 1)`` needs 5 % to 30 % more samples (most at radius 1, where ``p*`` is
close to 1), and size 300 loses again (too little mass away from ``p*``).

References:
  H. Robbins (1970), "Statistical methods related to the law of the iterated logarithm".
  S. R. Howard, A. Ramdas, J. McAuliffe, J. Sekhon (2021), "Time-uniform, nonparametric,
  nonasymptotic confidence sequences", Annals of Statistics.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import numpy as np
import scipy.special
import scipy.stats

from rstheory._clopper_pearson import cp_lower, cp_upper
from rstheory._confseq import betabinomial_cs
from rstheory._deprecation import keyword_only, renamed_choice
from rstheory._validation import (
    check_choice,
    check_int,
    check_prior,
    check_real,
)

__all__ = [
    "DEFAULT_PRIOR_SIZE",
    "METHODS",
    "BetaPrior",
    "Boundaries",
    "SequentialMethod",
    "boundaries",
    "checkpoints",
    "default_prior",
    "target_probability",
]

DEFAULT_PRIOR_SIZE = 30.0
SequentialMethod = Literal["betabinomial_cs", "clopper_pearson"]
"""The bound the sequential rule reads at each look, named as in :data:`rstheory.bounds.METHODS`:
``"betabinomial_cs"`` (anytime-valid) or ``"clopper_pearson"`` (fixed-``n``, re-checked at
every look: not valid under optional stopping)."""

METHODS: tuple[SequentialMethod, ...] = get_args(SequentialMethod)
BETABINOMIAL, CLOPPER_PEARSON = METHODS
# The 0.1 spellings, accepted with a DeprecationWarning until 0.3.
_OLD_METHODS = {"betabinomial": BETABINOMIAL, "clopper-pearson": CLOPPER_PEARSON}

# Smallest array the boundary search evaluates per round (one compiled bound for small rules).
_MIN_EVAL = 1024


# ------------------------------------------------------------------------ validation


def _check_method(method: str) -> SequentialMethod:
    method = renamed_choice("method", method, _OLD_METHODS, stacklevel=3)
    return check_choice(method, name="method", choices=METHODS)


@keyword_only("radius", "sigma")
def target_probability(*, radius, sigma) -> float:
    r"""``p* = Phi(radius / sigma)``: the smallest ``p_lower`` that certifies ``radius``.

    Example:
      >>> from rstheory.sequential import target_probability
      >>> round(target_probability(radius=0.5, sigma=0.5), 6)
      0.841345
    """
    r = check_real(radius, name="radius", low=0.0, low_open=True)
    s = check_real(sigma, name="sigma", low=0.0, low_open=True)
    return float(scipy.special.ndtr(r / s))


class BetaPrior(NamedTuple):
    """The ``(a, b)`` of a beta prior; passes wherever a ``prior=(a, b)`` pair is taken."""

    a: float
    b: float


@keyword_only("size")
def default_prior(p_star, *, size: float = DEFAULT_PRIOR_SIZE) -> BetaPrior:
    """``(size p*, size (1 - p*))``: the beta prior with mean ``p*`` and prior sample size ``size``.

    Example:
      >>> from rstheory.sequential import default_prior
      >>> default_prior(0.75, size=10)
      BetaPrior(a=7.5, b=2.5)
    """
    p = check_real(p_star, name="p_star", low=0.0, high=1.0, low_open=True, high_open=True)
    s = check_real(size, name="size", low=0.0, low_open=True)
    return BetaPrior(s * p, s * (1.0 - p))


@keyword_only("batch_size", "n_max")
def checkpoints(*, batch_size=32, n_max) -> np.ndarray:
    """The sample counts at which the rule looks: ``batch_size, 2 batch_size, ...``, and ``n_max``.

    Returns:
      int64 array ``(J,)``, ``J = ceil(n_max / batch_size)``, increasing, last entry ``n_max``.

    Example:
      >>> from rstheory.sequential import checkpoints
      >>> checkpoints(batch_size=100, n_max=350).tolist()
      [100, 200, 300, 350]
    """
    batch_size = check_int(batch_size, name="batch_size")
    n_max = check_int(n_max, name="n_max")
    ns = np.arange(batch_size, n_max + 1, batch_size, dtype=np.int64)
    if ns.size == 0 or ns[-1] != n_max:
        ns = np.append(ns, np.int64(n_max))
    return ns


# ------------------------------------------------------------------------ boundaries


class Boundaries(NamedTuple):
    """Result of :func:`boundaries`: the rule as integer thresholds per checkpoint.

    Attributes:
      checkpoints: int64 ``(J,)``, the sample counts ``n_j`` at which the rule looks.
      k_certify: int64 ``(J,)``, smallest ``k`` with ``low(k, n_j) >= p*`` (``n_j + 1`` if
        none): certify at ``n_j`` when ``k_j >= k_certify[j]``.
      k_futile: int64 ``(J,)``, largest ``k`` with ``high(k, n_j) < p*`` (``-1`` if none):
        stop for futility when ``k_j <= k_futile[j]``.
      p_star: the target probability ``Phi(radius / sigma)``.
      alpha: the level of the bounds.
      prior: ``(a, b)`` of the mixture (``None`` for Clopper-Pearson).
      method: ``"betabinomial_cs"`` (anytime-valid) or ``"clopper_pearson"`` (fixed-n bound
        re-checked at every checkpoint: NOT valid under optional stopping).
    """

    checkpoints: np.ndarray
    k_certify: np.ndarray
    k_futile: np.ndarray
    p_star: float
    alpha: float
    prior: tuple[float, float] | None
    method: SequentialMethod


def _bound_ends(k, n, alpha, prior, method):
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if method == BETABINOMIAL:
        ci = betabinomial_cs(k, n, alpha=alpha, prior=prior)
        return np.asarray(ci.low), np.asarray(ci.high)
    return np.asarray(cp_lower(k, n, alpha=alpha)), np.asarray(cp_upper(k, n, alpha=alpha))


def _boundaries_at(ns: np.ndarray, p_star: float, alpha: float, prior, method: str):
    # Both searches share each round's call: the first half asks low >= p*, the second
    # high >= p* (whose first k minus one is the largest k with high < p*). Every round
    # evaluates one array of a fixed length (at least _MIN_EVAL, a power of two), so the
    # jitted bound compiles once per problem size class, not once per round.
    both = np.concatenate([ns, ns])
    half = ns.size
    size = max(_MIN_EVAL, 1 << max(0, (both.size - 1).bit_length()))
    which = np.arange(both.size) < half
    lo = np.full(both.shape, -1, dtype=np.int64)  # predicate false (sentinel)
    hi = both + 1  # predicate true (sentinel)
    while True:
        active = hi - lo > 1
        if not active.any():
            break
        mid = np.clip((lo + hi) // 2, 0, both)
        k = np.zeros(size)
        n = np.ones(size)
        k[: both.size], n[: both.size] = mid, both
        low, high = _bound_ends(k, n, alpha, prior, method)
        ok = np.where(which, low[: both.size] >= p_star, high[: both.size] >= p_star)
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    return hi[:half], hi[half:] - 1


def boundaries(
    *, radius, sigma, alpha=0.001, batch_size=32, n_max, prior=None, method=BETABINOMIAL
) -> Boundaries:
    r"""Certify and futility boundaries of the sequential rule at every checkpoint.

    ``k_certify[j] = min{k : low(k, n_j) >= p*}`` and ``k_futile[j] = max{k : high(k, n_j)
    < p*}`` with ``(low, high)`` the anytime-valid beta-binomial confidence sequence at
    level ``alpha`` (or, with ``method="clopper_pearson"``, the one-sided fixed-``n``
    Clopper-Pearson bounds, each at ``alpha``). Both ends are nondecreasing in ``k``, so
    each threshold is found by a bisection over ``k``, vectorised over the checkpoints
    (``ceil(log2(n_max + 2))`` batched bound evaluations).

    Args:
      radius: target radius ``> 0``.
      sigma: noise level ``> 0``.
      alpha: level in ``(0, 1)``.
      batch_size: samples between looks, integer ``>= 1``.
      n_max: largest number of samples, integer ``>= 1``.
      prior: ``(a, b)`` of the mixture; ``None`` gives :func:`default_prior` ``(p*)``.
        Not used by Clopper-Pearson.
      method: ``"betabinomial_cs"`` or ``"clopper_pearson"`` (:data:`SequentialMethod`); the
        0.1 spellings ``"betabinomial"`` and ``"clopper-pearson"`` still work, with a
        :class:`DeprecationWarning`, until 0.3.

    Returns:
      :class:`Boundaries` with arrays of shape ``(J,)``, ``J = ceil(n_max / batch_size)``.

    Example:
      >>> from rstheory.sequential import boundaries
      >>> b = boundaries(radius=0.25, sigma=0.5, alpha=0.001, batch_size=50, n_max=200)
      >>> b.checkpoints.tolist(), b.k_certify.tolist(), b.k_futile.tolist()
      ([50, 100, 150, 200], [49, 89, 127, 165], [17, 47, 78, 109])
    """
    p_star = target_probability(radius=radius, sigma=sigma)
    if p_star >= 1.0:
        raise ValueError(
            f"radius / sigma = {radius / sigma!r} is too large: p* = Phi(radius / sigma) is 1"
        )
    alpha = check_real(alpha, name="alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    method = _check_method(method)
    ns = checkpoints(batch_size=batch_size, n_max=n_max)
    if method == BETABINOMIAL:
        prior = default_prior(p_star) if prior is None else check_prior(prior)
    else:
        prior = None
    k_cert, k_fut = _boundaries_at(ns, p_star, alpha, prior, method)
    return Boundaries(ns, k_cert, k_fut, p_star, alpha, prior, method)
