r"""Planning: how many Monte Carlo samples a certificate needs, and what they cost.

Two kinds of question are answered here.

* **Sample size for a target** (:func:`required_samples`). For a distribution of the
  true top-class probability ``p`` the exact expectations of :mod:`rstheory.scaling`
  (no CLT) are searched over the integers for the smallest ``n`` meeting one of

  - a mean-radius ratio ``E[R_n] >= t * E[R_ref]``, where ``E[R_ref]`` is the exact
    mean radius at ``reference_n`` or the infinite-sample mean radius
    ``E[sigma Phi^-1(p) 1{p > 1/2}]``;
  - a mean radius ``E[R_n] >= r``;
  - a certified accuracy ``acc_n(r_0) >= a`` at a radius ``r_0``.

  The first-order law ``E[R_n] ~ E[R_inf] (1 - c z / sqrt(n))`` (``c`` =
  :func:`rstheory.scaling.first_order_constant`, one-sided ``z = Phi^-1(1 - alpha)``)
  gives a closed-form estimate beside the exact answer.

The compute budget of a plan (batches, device and wall time, cost) is in
:mod:`rstheory._budget`; :mod:`rstheory.planning` holds both.
"""

from __future__ import annotations

import numpy as np

from rstheory import _plan_entry, _scaling  # _plan_entry: the checks and search of both paths
from rstheory._plan_search import (
    Plan,
    infinite_accuracy,  # noqa: F401  (rstheory.planning's limit)
)

__all__ = ["Plan", "required_samples"]


def closed_form_reason(
    dist,
    *,
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
) -> str | None:
    """Why :func:`required_samples` gives ``closed_form_n = nan`` for these arguments, or None.

    Used by ``rstheory plan`` to print the reason beside a missing estimate.

    Takes the arguments of :func:`required_samples` (valid ones: call it first) and returns
    the reason its closed-form estimate is ``nan`` (an accuracy target; a law with mass at
    ``p = 1`` or none above 1/2, where the first-order constant is ``nan``; a
    ``reference_n`` too small for the law), computed the way the estimate is, or None when
    the estimate is a number.

    Example:
      >>> from rstheory import distributions
      >>> law = distributions.Mixture(
      ...     [distributions.PointMass(1.0), distributions.Beta(8.0, 2.0)], [0.2, 0.8])
      >>> why = closed_form_reason(law, sigma=0.5, target_ratio=0.9, reference_n=10**5)
      >>> why.startswith("Pr(p_A) has mass 0.2 at p = 1, where Phi^-1(p) is infinite")
      True
    """
    nodes, weights = _scaling.dist_quadrature(dist)
    return _plan_entry.closed_form_reason(
        nodes,
        weights,
        constant=lambda: float(_scaling.first_order_constant(dist)),
        alpha=alpha,
        sigma=sigma,
        target_ratio=target_ratio,
        reference_n=reference_n,
        target_radius=target_radius,
        target_accuracy=target_accuracy,
        at_radius=at_radius,
    )


def required_samples(
    dist,
    *,
    alpha=0.001,
    sigma,
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
    n_max=10**7,
) -> Plan:
    r"""Smallest sample size ``n`` whose exact expected certificate meets a target.

    Exactly one target kind must be given:

    (a) ``target_ratio = t`` in ``(0, 1)``:
        :math:`\mathbb E[R_n] \ge t\,\mathbb E[R_{\mathrm{ref}}]`, with
        :math:`\mathbb E[R_{\mathrm{ref}}]` = :func:`rstheory.scaling.expected_radius` at
        ``reference_n``, or, when ``reference_n`` is ``None``, the infinite-sample mean radius

        .. math::
            \mathbb E[R_\infty] = \sigma\,\mathbb E_p\big[\Phi^{-1}(p)\,\mathbf 1\{p > 1/2\}\big]

        computed from ``dist.quadrature()``;
    (b) ``target_radius = r``: :math:`\mathbb E[R_n] \ge r`;
    (c) ``target_accuracy = a`` with ``at_radius = r_0``:
        :math:`\mathrm{acc}_n(r_0) \ge a` (:func:`rstheory.scaling.certified_accuracy`).

    The search evaluates the exact values: a bracket is found by a geometric walk from the
    closed-form estimate (or by doubling from ``n = 1`` when there is none), then split four
    ways per round, each round one batched exact evaluation, until the bracket is two
    neighbouring integers. ``E[R_n]`` and
    ``acc_n`` are only approximately monotone in ``n`` (the Clopper-Pearson bound jumps
    with the integer grid of counts), so the returned ``n`` is the smallest on the
    searched grid with the property "the target holds at ``n`` and fails at ``n - 1``";
    a smaller isolated ``n`` where the target also holds may exist.

    The closed-form estimate solves the first-order law for ``n``:

    .. math::
        1 - \frac{c z}{\sqrt n} = \rho
        \quad\Longrightarrow\quad n = \Big(\frac{c z}{1 - \rho}\Big)^2,
        \qquad z = \Phi^{-1}(1 - \alpha),\ c = \text{first\_order\_constant(dist)},

    with ``rho = t`` for (a) against infinity, ``rho = t (1 - c z / sqrt(n_ref))`` for (a)
    against ``reference_n``, and ``rho = r / E[R_inf]`` for (b); ``nan`` for (c) or when
    ``rho`` is outside ``(0, 1)`` or ``c`` is ``nan``.

    Args:
      dist: an object with ``quadrature() -> (nodes, weights)``, e.g. from
        :mod:`rstheory.distributions`.
      alpha: significance level in ``(0, 1)``.
      sigma: noise level ``> 0``.
      target_ratio: ratio target in ``(0, 1)`` (kind a).
      reference_n: integer ``>= 1``, only with ``target_ratio``; ``None`` means infinity.
      target_radius: mean-radius target ``> 0`` (kind b).
      target_accuracy: certified-accuracy target in ``(0, 1]`` (kind c), with ``at_radius``.
      at_radius: radius ``>= 0`` at which the accuracy is measured, only with
        ``target_accuracy``.
      n_max: largest sample size searched, integer ``>= 1``.

    Returns:
      :class:`Plan` ``(n, achieved, target, closed_form_n)``.

    Raises:
      ValueError: for invalid arguments, for a target that cannot be reached
        (``target_radius`` above ``radius_cap(n_max)``; a ratio against an infinite
        ``E[R_inf]`` (a node at ``p = 1``) or against a reference with zero mean radius;
        ``target_accuracy`` above the infinite-sample accuracy), or when the target is
        not met at ``n_max``.

    Example:
      >>> from rstheory import distributions, planning
      >>> plan = planning.required_samples(
      ...     distributions.PointMass(0.9), alpha=0.001, sigma=1.0, target_radius=1.0)
      >>> plan.n, plan.achieved >= plan.target, round(plan.closed_form_n)
      (342, True, 352)
    """
    nodes, weights = _scaling.dist_quadrature(dist)

    def curves(alpha: float, sigma: float):
        def mean_radius(n):
            return np.asarray(_scaling.expected_radius(dist, n, alpha=alpha, sigma=sigma))

        def accuracy(n, r0):
            return np.asarray(
                _scaling.certified_accuracy(dist, n, radius=r0, alpha=alpha, sigma=sigma)
            )

        return mean_radius, accuracy

    return _plan_entry.required_samples(
        nodes,
        weights,
        constant=lambda: float(_scaling.first_order_constant(dist)),
        curves=curves,
        alpha=alpha,
        sigma=sigma,
        target_ratio=target_ratio,
        reference_n=reference_n,
        target_radius=target_radius,
        target_accuracy=target_accuracy,
        at_radius=at_radius,
        n_max=n_max,
    )
