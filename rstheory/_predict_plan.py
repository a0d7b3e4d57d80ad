r"""Expected abstention of PREDICT over a dataset, and the ``n`` that keeps it low.

Over inputs with top-class probabilities ``p_A ~ Pr(p_A)`` (a model of
:mod:`rstheory.distributions`, integrated by its ``quadrature()`` as the planner does, or
an array of per-input probabilities, each input weighted alike) the expected abstention
at ``n`` is ``E[P[abstain | p_A, n]]``:

* with ``p_b`` (per-input second-class probabilities, the rest one class) it is the
  exact mean of :func:`rstheory.predict.predict_rates` (three-class model);
* with ``p_A`` alone it is the mean of :func:`rstheory.predict.abstention_bound`, an
  upper bound valid however the other classes share ``1 - p_A``.

Abstention is *not* monotone in ``n``: the critical value ``k*(n)`` of the binomial
test moves up by one at some ``n``, and there ``P[Bin(n, p) < k*(n)]`` jumps up (a
sawtooth). :func:`n_for_abstention` therefore checks every ``n = 1, 2, ...`` in
blocks and returns the first that meets the target: every smaller ``n`` misses it. The
bound costs ``O(1)`` per ``(n, node)``, the exact mean ``O(sqrt(n))`` incomplete-beta
values per ``(n, input)``; the exact scan evaluates it only where a cheaper floor
(:mod:`rstheory._predict_floor`) does not already rule ``n`` out. ``n_max`` caps it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rstheory._exact import dist_quadrature
from rstheory._predict_floor import SLACK, abstention_floor
from rstheory._predict_rates import (
    N_MAX,
    bound_at,
    check_n,
    critical_values,
    rate_widths,
    rates_at,
)
from rstheory._validation import (
    as_numpy,
    check_alpha,
    check_int,
    check_probability,
    check_real,
    check_sample_sizes,
    check_top_two,
)

__all__ = ["AbstentionPlan", "ExpectedAbstention", "expected_abstention", "n_for_abstention"]

# The first block of sample sizes scanned; each later block doubles, up to _MAX_BLOCK.
_FIRST_BLOCK = 64
_MAX_BLOCK = 2**14
# Sample sizes evaluated exactly at once among those the floor does not rule out (the
# first chunk; each later one doubles).
_FIRST_CHUNK = 16


class ExpectedAbstention(NamedTuple):
    """Result of :func:`expected_abstention`.

    Attributes:
      n: the sample sizes, int64 ``(s,)``.
      abstain: expected abstention at each ``n``, float64 ``(s,)``.
      bound: True when ``abstain`` is the upper bound from ``p_a`` alone, False when it
        is the exact three-class mean (``p_b`` given).
    """

    n: np.ndarray
    abstain: np.ndarray
    bound: bool


class AbstentionPlan(NamedTuple):
    """Result of :func:`n_for_abstention`.

    Attributes:
      n: the smallest sample size whose expected abstention is ``<= target``.
      abstain: the expected abstention at ``n``.
      target: the target asked for.
      bound: True when the abstention is the upper bound from ``p_a`` alone.
    """

    n: int
    abstain: float
    target: float
    bound: bool


def _inputs(p_a, p_b):
    """``(nodes, weights, p_b or None)``: quadrature of a model, or equal-weight arrays."""
    if callable(getattr(p_a, "quadrature", None)):
        if p_b is not None:
            raise ValueError(
                "p_b must be None when p_a is a distribution (it models p_A alone); "
                "pass per-input arrays p_a and p_b for the exact three-class rates"
            )
        nodes, weights = dist_quadrature(p_a, name="p_a")
        return nodes, weights, None
    a = np.atleast_1d(as_numpy("p_a", p_a)).astype(np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"p_a must be a distribution or a non-empty scalar or 1-D array of per-input "
            f"probabilities, got shape {a.shape}"
        )
    if p_b is None:
        check_probability(a, name="p_a")
        return a, np.full(a.size, 1.0 / a.size), None
    b = np.atleast_1d(as_numpy("p_b", p_b)).astype(np.float64)
    if b.shape != a.shape:
        raise ValueError(f"p_b must have the shape of p_a {a.shape}, got {b.shape}")
    check_top_two(a, b)
    pairs, counts = np.unique(np.stack([a, b], axis=1), axis=0, return_counts=True)
    return pairs[:, 0], counts / a.size, pairs[:, 1]


def _evaluate(nodes, weights, p_b, ns: np.ndarray, alpha: float, *, like=None) -> np.ndarray:
    """Expected abstention (bound or exact mean) at each ``n`` of the 1-D int64 ``ns``.

    ``like``: ``(n_top, widths)`` of a superset of ``ns`` whose values are reproduced bit
    for bit (the exact mean's table up to ``n_top``, and per input the row widths of
    :func:`rstheory._predict_rates.rate_widths`); default those of ``ns``.
    """
    n_top, widths = (int(ns.max()), [None] * len(nodes)) if like is None else like
    if p_b is None:
        k_star, _ = critical_values(alpha, n_top)
        return weights @ bound_at(nodes[:, None], ns[None, :], k_star)
    _, s_star = critical_values(alpha, n_top)
    total = np.zeros(ns.shape)
    for pa, pb, w, width in zip(nodes, p_b, weights, widths, strict=True):
        total += w * rates_at(float(pa), float(pb), ns, s_star, widths=width)[0]
    return total


def expected_abstention(p_a, n, *, alpha=0.001, p_b=None) -> ExpectedAbstention:
    """Expected PREDICT abstention over inputs at each sample size ``n``.

    Args:
      p_a: a model of Pr(p_A) (anything with ``quadrature()``, e.g.
        :class:`rstheory.distributions.Beta`), or per-input top-class probabilities, a
        scalar or 1-D array in [0, 1].
      n: sample sizes, a scalar or 1-D array of integers in ``[1, 10**7]``.
      alpha: level of the test, in (0, 1).
      p_b: per-input second-class probabilities (``p_b <= p_a``, ``p_a + p_b <= 1``), the
        shape of ``p_a``; with it the result is the exact three-class mean, without it
        the upper bound :func:`rstheory.predict.abstention_bound`.

    Returns:
      :class:`ExpectedAbstention`, ``abstain`` of shape ``(s,)``.

    Example:
      >>> from rstheory.distributions import Beta
      >>> e = expected_abstention(Beta(8.0, 2.0), [100, 1000], alpha=0.001)
      >>> e.bound, bool(e.abstain[1] < e.abstain[0] < 0.5)
      (True, True)
    """
    check_alpha(alpha)
    ns = check_sample_sizes(n)
    check_n(ns)
    nodes, weights, b = _inputs(p_a, p_b)
    value = _evaluate(nodes, weights, b, ns, float(alpha))
    return ExpectedAbstention(n=ns, abstain=np.clip(value, 0.0, 1.0), bound=b is None)


def _blocks(n_max: int):
    """The blocks of sample sizes scanned: ``1 .. 64``, then doubling up to ``_MAX_BLOCK``."""
    start, block = 1, _FIRST_BLOCK
    while start <= n_max:
        ns = np.arange(start, min(n_max, start + block - 1) + 1, dtype=np.int64)
        yield ns
        start, block = int(ns[-1]) + 1, min(2 * block, _MAX_BLOCK)


def _first_meeting(f, target: float, n_max: int) -> tuple[int, float] | None:
    """The first ``n`` in ``[1, n_max]`` with ``f(n) <= target``: every ``n``, block by block."""
    for ns in _blocks(n_max):
        values = f(ns)
        hit = np.flatnonzero(values <= target)
        if hit.size:
            return int(ns[hit[0]]), float(values[hit[0]])
    return None


def _first_meeting_screened(nodes, weights, p_b, target, alpha, n_max):
    """:func:`_first_meeting` of the exact mean, skipping each ``n`` whose floor is above.

    The floor is :func:`rstheory._predict_floor.abstention_floor`, ``<=`` each input's exact
    rate, so its weighted mean is ``<=`` the expected abstention: an ``n`` whose floor
    exceeds ``target + SLACK`` misses the target (rounding: that module's docstring). The
    rest are evaluated in order, in doubling chunks, as the plain scan does (the block's tables and
    widths, so every value is the plain scan's bit for bit), and the first hit is its hit.
    """
    for block in _blocks(n_max):
        k_star, _ = critical_values(alpha, int(block.max()))
        floor = np.zeros(block.shape)
        for pa, pb, w in zip(nodes, p_b, weights, strict=True):
            floor += w * abstention_floor(float(pa), float(pb), block, k_star)
        todo = block[~(floor > target + SLACK)]  # a nan floor skips nothing
        if todo.size == 0:
            continue
        pairs = zip(nodes, p_b, strict=True)
        widths = [rate_widths(float(pa), float(pb), block) for pa, pb in pairs]
        start, size = 0, _FIRST_CHUNK
        while start < todo.size:
            ns = todo[start : start + size]
            values = _evaluate(nodes, weights, p_b, ns, alpha, like=(int(block.max()), widths))
            hit = np.flatnonzero(values <= target)
            if hit.size:
                return int(ns[hit[0]]), float(values[hit[0]])
            start, size = start + size, 2 * size
    return None


def n_for_abstention(p_a, *, target=0.05, alpha=0.001, p_b=None, n_max=10**6) -> AbstentionPlan:
    r"""The smallest ``n`` whose expected PREDICT abstention is at most ``target``.

    Every ``n`` below the answer misses the target (abstention is not monotone in ``n``,
    so all of them are checked; module docstring). Without ``p_b`` the abstention is the
    upper bound from ``p_a`` alone, so the ``n`` returned is enough however the other
    classes share their mass; with ``p_b`` it is the exact three-class rate.

    With ``p_b`` each ``n`` is first checked against a floor: for every input,
    :func:`rstheory._predict_floor.abstention_floor` gives ``F(n) <= P[abstain]``, from

    .. math::

       P[\text{abstain}] \ge P[n_A < k^*(M),\ n_Y < k^*(M)]
       - P[n_Z \ge k^*(n_Z + n_A)], \qquad M = n_A + n_Y,

    (``Y`` the likelier of ``B`` and the rest, ``Z`` the other; ``k*`` nondecreasing;
    Cohen, Rosenfeld & Kolter 2019, Sec. 3.2, Algorithm PREDICT; proof in that module),
    so the weighted mean of the floors is at most the expected abstention. An ``n`` whose
    mean floor is above ``target + 1e-9`` (above the rounding of either side) misses the
    target and is skipped; the others are evaluated exactly, in order, with the tables and
    row widths of the plain scan's block, so the ``n`` and the value returned are the
    plain scan's, bit for bit. The floor costs ``O(sqrt(n))`` binomial masses per ``n``
    (about ``p_B``'s and the rest's windows) with no incomplete beta per term; where
    ``p_A`` and ``p_B`` are close and the answer is large it is within ``1e-12`` of the
    exact rate, and one ``n`` or a few are evaluated exactly (``p_a = 0.52, p_b = 0.45``,
    ``n = 4843``: 22 to 27 times faster than the plain scan on one core,
    ``bench/bench_predict.py``).
    The bound, ``O(n)`` per quadrature node, answers at once and is an upper limit for it.

    Args:
      p_a: a model of Pr(p_A) or per-input top-class probabilities
        (:func:`expected_abstention`).
      target: the largest acceptable expected abstention, in (0, 1).
      alpha: level of the test, in (0, 1).
      p_b: per-input second-class probabilities, or None (the bound).
      n_max: the largest ``n`` tried, an integer in ``[1, 10**7]``.

    Returns:
      :class:`AbstentionPlan`.

    Raises:
      ValueError: for a bad argument, or when no ``n <= n_max`` meets the target (as for
        ``p_a <= 1/2``, where the bound stays above 1/2).

    Example:
      >>> plan = n_for_abstention(0.8, target=0.05, alpha=0.001)
      >>> plan.n, plan.bound
      (61, True)
      >>> bool(expected_abstention(0.8, plan.n - 1, alpha=0.001).abstain[0] > 0.05)
      True
    """
    return _plan(p_a, target, alpha, p_b, n_max, screen=True)


def _n_for_abstention_scan(p_a, *, target=0.05, alpha=0.001, p_b=None, n_max=10**6):
    """:func:`n_for_abstention` by the plain scan: the exact rate at every ``n`` (reference)."""
    return _plan(p_a, target, alpha, p_b, n_max, screen=False)


def _plan(p_a, target, alpha, p_b, n_max, *, screen: bool) -> AbstentionPlan:
    target = check_real(target, name="target", low=0.0, high=1.0, low_open=True, high_open=True)
    check_alpha(alpha)
    n_max = check_int(n_max, name="n_max", low=1, high=N_MAX)
    alpha = float(alpha)
    nodes, weights, b = _inputs(p_a, p_b)

    def f(ns):
        return _evaluate(nodes, weights, b, ns, alpha)

    # The exact rate lies below the bound, so its scan (which stops at its first hit)
    # ends at or before the bound's would; it skips the n its floor rules out.
    if b is None or not screen:
        found = _first_meeting(f, target, n_max)
    else:
        found = _first_meeting_screened(nodes, weights, b, target, alpha, n_max)
    if found is None:
        value = float(f(np.array([n_max], dtype=np.int64))[0])
        kind = "bound on the expected abstention" if b is None else "expected abstention"
        raise ValueError(
            f"target {target!r} is not reached with n_max={n_max} samples ({kind} there "
            f"{value!r}); raise n_max or the target"
        )
    return AbstentionPlan(n=found[0], abstain=found[1], target=target, bound=b is None)
