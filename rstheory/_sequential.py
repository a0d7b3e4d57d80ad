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

import math
from typing import Literal, NamedTuple, get_args

import numpy as np
import scipy.signal
import scipy.special
import scipy.stats

from rstheory import _exact, _planning
from rstheory._clopper_pearson import cp_lower, cp_upper
from rstheory._confseq import betabinomial_cs
from rstheory._deprecation import keyword_only, renamed_choice
from rstheory._validation import (
    check_choice,
    check_int,
    check_prior,
    check_probability,
    check_real,
)

__all__ = [
    "DEFAULT_PRIOR_SIZE",
    "METHODS",
    "BetaPrior",
    "Boundaries",
    "Comparison",
    "OperatingCharacteristics",
    "SequentialMethod",
    "SequentialPlan",
    "boundaries",
    "checkpoints",
    "compare_fixed",
    "default_prior",
    "operating_characteristics",
    "sequential_plan",
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

# Nodes whose running mass falls below this leave the recursion (mass counted as undecided).
_PRUNE = 1e-15
# Convolutions with a batch pmf longer than this use the FFT; shorter ones are direct sums.
_DIRECT_MAX = 48
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


# ------------------------------------------------------------------------ exact recursion


class _Run(NamedTuple):
    certify: np.ndarray  # (P,) per node
    futility: np.ndarray  # (P,)
    undecided: np.ndarray  # (P,) reaching the last checkpoint undecided
    expected: np.ndarray  # (P,) E[samples] with n_max = the last checkpoint
    certify_at: np.ndarray  # (J,) weighted mass certifying at each checkpoint
    futility_at: np.ndarray  # (J,)


def _convolve(alive: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """Row-wise full convolution of ``(P, W)`` with ``(P, m + 1)``, shape ``(P, W + m)``."""
    m1 = pmf.shape[1]
    if m1 <= _DIRECT_MAX or alive.shape[1] <= 2:
        out = np.zeros((alive.shape[0], alive.shape[1] + m1 - 1))
        w = alive.shape[1]
        for x in range(m1):
            out[:, x : x + w] += alive * pmf[:, x : x + 1]
        return out
    out = scipy.signal.fftconvolve(alive, pmf, axes=1)
    np.maximum(out, 0.0, out=out)  # FFT round-off (~1e-17) must not give negative mass
    return out


def _recursion(p: np.ndarray, w: np.ndarray, b: Boundaries) -> _Run:
    """Forward recursion of the stopping law for all nodes ``p`` (weights ``w``) at once."""
    ns, k_cert, k_fut = b.checkpoints, b.k_certify, b.k_futile
    P, J = p.size, ns.size
    cert, fut = np.zeros(P), np.zeros(P)
    expected = np.zeros(P)
    cert_at, fut_at = np.zeros(J), np.zeros(J)
    active = np.arange(P)  # nodes still in the recursion
    alive = np.ones((P, 1))  # running mass on k = lo, lo + 1, ... (start: k = 0 at n = 0)
    lo = 0
    prev = 0
    pmf_cache: dict[int, np.ndarray] = {}
    for j in range(J):
        m = int(ns[j] - prev)
        prev = int(ns[j])
        if m not in pmf_cache:
            pmf_cache[m] = scipy.stats.binom.pmf(np.arange(m + 1)[None, :], m, p[:, None])
        new = _convolve(alive, pmf_cache[m][active])
        ks = lo + np.arange(new.shape[1])  # counts of the columns
        c_cols = ks >= k_cert[j]
        f_cols = ks <= k_fut[j]
        c = new[:, c_cols].sum(axis=1)
        f = new[:, f_cols].sum(axis=1)
        cert[active] += c
        fut[active] += f
        expected[active] += ns[j] * (c + f)
        cert_at[j] = w[active] @ c
        fut_at[j] = w[active] @ f
        keep = ~(c_cols | f_cols)
        if not keep.any():  # no count continues: everything has stopped
            alive = np.zeros((active.size, 0))
            active = active[:0]
            break
        first = int(np.argmax(keep))
        last = int(keep.size - np.argmax(keep[::-1]))
        alive = new[:, first:last]
        lo = int(ks[first])
        mass = alive.sum(axis=1)
        stay = mass > _PRUNE
        if not stay.all():
            gone = active[~stay]
            expected[gone] += ns[-1] * mass[~stay]
            active, alive = active[stay], alive[stay]
        if active.size == 0:
            break
    undecided = np.clip(1.0 - cert - fut, 0.0, 1.0)
    if active.size:
        expected[active] += ns[-1] * alive.sum(axis=1)
    return _Run(cert, fut, undecided, expected, cert_at, fut_at)


class OperatingCharacteristics(NamedTuple):
    """Result of :func:`operating_characteristics`: the exact law of the rule for each ``p``.

    Attributes (float64, the shape of ``p``):
      expected_samples: ``E[N]``, the expected estimation samples (stopping checkpoint).
      certify: ``P[certify radius >= r]``.
      futility: ``P[stop for futility]``.
      undecided: ``P[reach n_max with neither]``; ``certify + futility + undecided = 1``.
      boundaries: the :class:`Boundaries` used.
    """

    expected_samples: np.ndarray
    certify: np.ndarray
    futility: np.ndarray
    undecided: np.ndarray
    boundaries: Boundaries


@keyword_only("bounds")
def operating_characteristics(p, *, bounds: Boundaries) -> OperatingCharacteristics:
    r"""Exact stopping law of the sequential rule when the true probability is ``p``.

    Forward recursion over the vote count (module docstring): with ``a_j(k)`` the
    probability of being still running at ``n_j`` with ``k`` votes,

    .. math::
        \tilde a_j(k) = \sum_x a_{j-1}(k - x)\,\binom{m_j}{x} p^x (1-p)^{m_j - x},\quad
        m_j = n_j - n_{j-1},

    ``P[certify at j] = sum_{k >= k^cert_j} ã_j(k)``, ``P[futile at j] = sum_{k <= k^fut_j}
    ã_j(k)``, and ``a_j`` is ``ã_j`` on the band between. ``E[N] = sum_j n_j P[stop at j]``
    (reaching ``n_max`` counts as a stop at ``n_max``).

    Args:
      p: true probability(ies) in ``[0, 1]``, any shape.
      bounds: from :func:`boundaries` (any method: the same recursion evaluates the naive
        Clopper-Pearson rule).

    Returns:
      :class:`OperatingCharacteristics`, arrays of the shape of ``p``.

    Example:
      >>> from rstheory.sequential import boundaries, operating_characteristics
      >>> b = boundaries(radius=0.5, sigma=0.5, alpha=0.001, batch_size=50, n_max=2000)
      >>> oc = operating_characteristics([0.5, 0.99], bounds=b)
      >>> [round(float(x), 1) for x in oc.expected_samples]
      [62.0, 104.0]
      >>> [round(float(x), 4) for x in oc.certify]
      [0.0, 1.0]
    """
    check_probability(p, name="p")
    arr = np.asarray(p, dtype=np.float64)
    if not isinstance(bounds, Boundaries):
        raise ValueError(
            "bounds must be a Boundaries from rstheory.sequential.boundaries, got "
            f"{type(bounds).__name__}"
        )
    flat = arr.reshape(-1)
    run = _recursion(flat, np.full(flat.size, 1.0 / max(flat.size, 1)), bounds)
    shape = arr.shape
    return OperatingCharacteristics(
        run.expected.reshape(shape),
        run.certify.reshape(shape),
        run.futility.reshape(shape),
        run.undecided.reshape(shape),
        bounds,
    )


# ------------------------------------------------------------------------ plans


class SequentialPlan(NamedTuple):
    """Result of :func:`sequential_plan`: the rule's cost and outcome under ``Pr(p_A)``.

    Attributes:
      expected_samples: ``E[N]`` per input, averaged over ``Pr(p_A)``.
      certified_fraction: ``P[certify radius >= r]`` under ``Pr(p_A)``.
      futility_fraction: ``P[stop for futility]``.
      max_fraction: ``P[reach n_max undecided]``; the three fractions sum to 1.
      n_max, batch_size: the rule's limits.
      radius, sigma, alpha, p_star: the target (``p* = Phi(radius / sigma)``) and level.
      prior: the mixture prior ``(a, b)``.
      nodes, weights: ``(P,)``, the quadrature of ``Pr(p_A)``.
      node_expected_samples, node_certify, node_futility, node_max: ``(P,)``, per node.
      certify_by_checkpoint, futility_by_checkpoint: ``(J,)``, the weighted probability of
        stopping that way at each checkpoint.
      boundaries: the :class:`Boundaries`.
    """

    expected_samples: float
    certified_fraction: float
    futility_fraction: float
    max_fraction: float
    n_max: int
    batch_size: int
    radius: float
    sigma: float
    alpha: float
    p_star: float
    prior: tuple[float, float]
    nodes: np.ndarray
    weights: np.ndarray
    node_expected_samples: np.ndarray
    node_certify: np.ndarray
    node_futility: np.ndarray
    node_max: np.ndarray
    certify_by_checkpoint: np.ndarray
    futility_by_checkpoint: np.ndarray
    boundaries: Boundaries


def _plan_from(nodes, weights, b: Boundaries, radius, sigma, batch_size) -> SequentialPlan:
    run = _recursion(nodes, weights, b)
    return SequentialPlan(
        expected_samples=float(weights @ run.expected),
        certified_fraction=float(weights @ run.certify),
        futility_fraction=float(weights @ run.futility),
        max_fraction=float(weights @ run.undecided),
        n_max=int(b.checkpoints[-1]),
        batch_size=int(batch_size),
        radius=float(radius),
        sigma=float(sigma),
        alpha=float(b.alpha),
        p_star=b.p_star,
        prior=b.prior,
        nodes=nodes,
        weights=weights,
        node_expected_samples=run.expected,
        node_certify=run.certify,
        node_futility=run.futility,
        node_max=run.undecided,
        certify_by_checkpoint=run.certify_at,
        futility_by_checkpoint=run.futility_at,
        boundaries=b,
    )


def sequential_plan(
    dist, *, radius, sigma, alpha=0.001, batch_size=32, n_max, prior=None
) -> SequentialPlan:
    r"""Expected samples and certified fraction of the sequential rule under ``Pr(p_A)``.

    .. math::
        \mathbb E[N] = \sum_i w_i\, \mathbb E_{p_i}[N],\qquad
        \mathrm{cert} = \sum_i w_i\, P_{p_i}[\text{certify}],

    over the nodes ``p_i`` and weights ``w_i`` of ``dist.quadrature()``, each term exact
    (:func:`operating_characteristics`, all nodes in one recursion).

    Args:
      dist: an object with ``quadrature() -> (nodes, weights)`` (:mod:`rstheory.distributions`).
      radius: target radius ``> 0``; ``sigma``: noise level ``> 0``; ``alpha``: in ``(0, 1)``.
      batch_size: samples between looks, integer ``>= 1``; ``n_max``: integer ``>= 1``.
      prior: mixture prior ``(a, b)``; ``None`` gives :func:`default_prior` ``(p*)``.

    Returns:
      :class:`SequentialPlan`.

    Example:
      >>> from rstheory import distributions
      >>> from rstheory.sequential import sequential_plan
      >>> plan = sequential_plan(distributions.Beta(8, 2), radius=0.25, sigma=0.5,
      ...                        alpha=0.001, batch_size=100, n_max=2000)
      >>> round(plan.expected_samples), round(plan.certified_fraction, 3)
      (580, 0.738)
    """
    nodes, weights = _exact._quadrature(dist)
    sigma_f = check_real(sigma, name="sigma", low=0.0, low_open=True)
    radius_f = check_real(radius, name="radius", low=0.0, low_open=True)
    b = boundaries(
        radius=radius_f, sigma=sigma_f, alpha=alpha, batch_size=batch_size, n_max=n_max, prior=prior
    )
    return _plan_from(nodes, weights, b, radius_f, sigma_f, batch_size)


class Comparison(NamedTuple):
    """Result of :func:`compare_fixed`.

    Attributes:
      fixed_n: samples of the fixed-``n`` rule (every input uses all of them).
      fixed_certified_fraction: its exact certified fraction at ``radius``.
      n_max: smallest checkpoint (multiple of ``batch_size``) at which the sequential rule's
        certified fraction reaches ``fixed_certified_fraction``; the largest one tried
        when ``matched`` is False.
      matched: whether the sequential fraction reached the fixed one within ``max_factor``.
      expected_samples: ``E[N]`` of the sequential rule with that ``n_max``.
      certified_fraction: its certified fraction.
      ratio: ``fixed_n / expected_samples`` (> 1: the sequential rule saves samples).
      sequential: the full :class:`SequentialPlan` at ``n_max``.
    """

    fixed_n: int
    fixed_certified_fraction: float
    n_max: int
    matched: bool
    expected_samples: float
    certified_fraction: float
    ratio: float
    sequential: SequentialPlan

    def summary(self) -> dict:
        """Plain, JSON-ready numbers: the fields above but ``sequential``, and its
        ``futility_fraction`` and ``max_fraction``."""
        return {
            "fixed_n": self.fixed_n,
            "fixed_certified_fraction": self.fixed_certified_fraction,
            "n_max": self.n_max,
            "matched": self.matched,
            "expected_samples": self.expected_samples,
            "certified_fraction": self.certified_fraction,
            "futility_fraction": self.sequential.futility_fraction,
            "max_fraction": self.sequential.max_fraction,
            "ratio": self.ratio,
        }


def compare_fixed(
    dist,
    *,
    radius,
    sigma,
    alpha=0.001,
    batch_size=32,
    n=None,
    target_accuracy=None,
    prior=None,
    max_factor=32,
    tolerance=1e-12,
) -> Comparison:
    r"""Sequential against fixed ``n`` at the same certified fraction.

    The fixed rule certifies ``radius`` when ``cp_lower(k, n, alpha) >= p*``; its certified
    fraction under ``Pr(p_A)`` is the exact sum :func:`rstheory.scaling.certified_accuracy`.
    Its ``n`` is given, or is :func:`rstheory.planning.required_samples` for
    ``target_accuracy`` at ``radius``. The sequential rule's boundaries at a checkpoint do
    not depend on ``n_max``, so its certified fraction grows with ``n_max``; one recursion
    to ``n_max = max_factor * n`` (doubling from ``2 n`` until reached) gives the fraction
    at every checkpoint, and the smallest checkpoint with fraction
    ``>= fixed - tolerance`` is the ``n_max`` returned, with the exact ``E[N]`` there.

    Args:
      dist, radius, sigma, alpha, batch_size, prior: as :func:`sequential_plan`.
      n: the fixed sample size, integer ``>= 1``; or
      target_accuracy: in ``(0, 1]``, the accuracy target at ``radius`` that sets ``n``
        (exactly one of ``n`` and ``target_accuracy``).
      max_factor: largest ``n_max / n`` tried, ``>= 1``.
      tolerance: slack in the comparison of the two fractions (float round-off), ``>= 0``.

    Returns:
      :class:`Comparison`.

    Example:
      >>> from rstheory import distributions
      >>> from rstheory.sequential import compare_fixed
      >>> c = compare_fixed(distributions.Beta(8, 2), radius=0.25, sigma=0.5, alpha=0.001,
      ...                   batch_size=100, n=1000)
      >>> c.n_max, round(c.expected_samples), c.certified_fraction >= c.fixed_certified_fraction
      (1800, 550, True)
    """
    nodes, weights = _exact._quadrature(dist)
    sigma_f = check_real(sigma, name="sigma", low=0.0, low_open=True)
    radius_f = check_real(radius, name="radius", low=0.0, low_open=True)
    alpha_f = check_real(alpha, name="alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    batch_size = check_int(batch_size, name="batch_size")
    factor = check_real(max_factor, name="max_factor", low=1.0)
    tol = check_real(tolerance, name="tolerance", low=0.0)
    if (n is None) == (target_accuracy is None):
        raise ValueError("exactly one of n and target_accuracy must be given")
    if n is None:
        n = _planning.required_samples(
            dist, alpha=alpha_f, sigma=sigma_f, target_accuracy=target_accuracy, at_radius=radius_f
        ).n
    n = check_int(n, name="n")
    fixed = float(_exact.certified_accuracy(dist, n, radius=radius_f, alpha=alpha_f, sigma=sigma_f))
    prior_used = None if prior is None else check_prior(prior)

    def ceil_batch(x: float) -> int:
        return max(batch_size, int(math.ceil(x / batch_size)) * batch_size)

    limit = ceil_batch(factor * n)
    trial = min(ceil_batch(2 * n), limit)
    while True:
        b = boundaries(
            radius=radius_f,
            sigma=sigma_f,
            alpha=alpha_f,
            batch_size=batch_size,
            n_max=trial,
            prior=prior_used,
        )
        run = _recursion(nodes, weights, b)
        cum = np.cumsum(run.certify_at)
        hit = np.flatnonzero(cum >= fixed - tol)
        if hit.size or trial >= limit:
            break
        trial = min(2 * trial, limit)
    matched = bool(hit.size)
    j = int(hit[0]) if matched else b.checkpoints.size - 1
    b_j = b._replace(
        checkpoints=b.checkpoints[: j + 1],
        k_certify=b.k_certify[: j + 1],
        k_futile=b.k_futile[: j + 1],
    )
    plan = _plan_from(nodes, weights, b_j, radius_f, sigma_f, batch_size)
    return Comparison(
        fixed_n=n,
        fixed_certified_fraction=fixed,
        n_max=plan.n_max,
        matched=matched,
        expected_samples=plan.expected_samples,
        certified_fraction=plan.certified_fraction,
        ratio=n / plan.expected_samples,
        sequential=plan,
    )
