"""Plans of the sequential rule under ``Pr(p_A)``, and the comparison with fixed ``n``.

:func:`sequential_plan` integrates the exact operating characteristics
(:mod:`rstheory._sequential_oc`) over a model of ``Pr(p_A)``; :func:`compare_fixed` sets
the sequential rule against the fixed-``n`` rule at the same certified fraction.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rstheory import _exact, _planning
from rstheory._sequential import (
    Boundaries,
    boundaries,
)
from rstheory._sequential_oc import stopping_law
from rstheory._validation import (
    check_int,
    check_prior,
    check_real,
)

__all__ = [
    "Comparison",
    "SequentialPlan",
    "compare_fixed",
    "sequential_plan",
]


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
    run = stopping_law(nodes, weights, b)
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
    nodes, weights = _exact.dist_quadrature(dist)
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
    nodes, weights = _exact.dist_quadrature(dist)
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
        return max(batch_size, math.ceil(x / batch_size) * batch_size)

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
        run = stopping_law(nodes, weights, b)
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
