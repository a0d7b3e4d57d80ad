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

import math
from typing import NamedTuple

import numpy as np
import scipy.special
import scipy.stats

from rstheory import _scaling
from rstheory._validation import check_alpha, check_int, check_real, check_sigma

__all__ = ["Plan", "required_samples"]


class Plan(NamedTuple):
    """Result of :func:`required_samples`.

    Attributes:
      n: smallest sample size found (Python ``int``) where the target holds.
      achieved: the exact value (mean radius or certified accuracy) at ``n``.
      target: the value that had to be reached (for a ratio target, ``target_ratio``
        times the reference mean radius).
      closed_form_n: first-order estimate of ``n`` (real-valued, not rounded); ``nan``
        when the first-order law does not apply (accuracy targets, ``c`` = ``nan``, or a
        target beyond the law's reach).
    """

    n: int
    achieved: float
    target: float
    closed_form_n: float


# ------------------------------------------------------------------------ search


def _infinite_mean_radius(nodes: np.ndarray, weights: np.ndarray, sigma: float) -> float:
    keep = nodes > 0.5
    if not keep.any():
        return 0.0
    with np.errstate(divide="ignore"):
        return float(sigma * (weights[keep] @ scipy.special.ndtri(nodes[keep])))


def infinite_accuracy(nodes: np.ndarray, weights: np.ndarray, radius: float, sigma: float) -> float:
    """Certified accuracy at radius ``radius`` in the limit ``n -> infinity``.

    ``sum_i w_i [p_i > 1/2 and sigma Phi^-1(p_i) >= radius]`` over a quadrature rule
    ``(nodes, weights)`` of Pr(p_A); the level the planner's accuracy targets are shares of.
    """
    with np.errstate(divide="ignore"):
        r = sigma * scipy.special.ndtri(nodes)
    ok = (nodes > 0.5) & (r >= max(radius, np.finfo(np.float64).tiny))
    return float(weights[ok].sum())


# Interior points evaluated together (one batched exact call) per round of the search
# inside a bracket, and the first step of the geometric walk from a closed-form guess.
_SPLIT = 3
_GUESS_STEP = 1.25


def _search(values, target: float, n_max: int, guess: float = math.nan) -> tuple[int, float]:
    """Smallest ``n`` on the searched grid with ``values(n) >= target``.

    ``values`` maps a 1-D int64 array of sample sizes to their exact values (one batched
    call shares the Clopper-Pearson tables). A bracket ``lo < hi`` with the target failing
    at ``lo`` and holding at ``hi`` is found by a geometric walk from ``guess`` (the
    closed-form estimate; steps ``1.25, 1.25^2, 1.25^4, ...``) or, without a finite guess,
    from ``n = 1`` by doubling. Each later round evaluates :data:`_SPLIT` evenly spaced
    integers inside ``(lo, hi)`` and keeps the invariant with the first that holds, until
    ``hi = lo + 1``. Raises ``ValueError`` when ``values(n_max) < target``.
    """
    cache: dict[int, float] = {}

    def f(ns) -> np.ndarray:
        todo = np.array(sorted({int(n) for n in ns} - cache.keys()), dtype=np.int64)
        if todo.size:
            cache.update(
                zip(todo.tolist(), np.asarray(values(todo), dtype=np.float64).tolist(), strict=True)
            )
        return np.array([cache[int(n)] for n in ns])

    def unreachable():
        return ValueError(
            f"target {target!r} is not reached with n_max={n_max} samples "
            f"(value there {float(f([n_max])[0])!r}); raise n_max or lower the target"
        )

    start = int(min(max(round(guess), 1), n_max)) if math.isfinite(guess) else 1
    factor = _GUESS_STEP if math.isfinite(guess) else 2.0
    if f([start])[0] >= target:  # walk down until the target fails
        hi = start
        while True:
            if hi == 1:
                return 1, cache[1]
            lo = max(1, min(hi - 1, math.floor(hi / factor)))
            if f([lo])[0] < target:
                break
            hi, factor = lo, factor * factor
    else:  # walk up until it holds
        lo = start
        while True:
            if lo == n_max:
                raise unreachable()
            hi = min(n_max, max(lo + 1, math.ceil(lo * factor)))
            if f([hi])[0] >= target:
                break
            lo, factor = hi, factor * factor
    while hi - lo > 1:
        inner = np.unique(np.linspace(lo, hi, _SPLIT + 2)[1:-1].round().astype(np.int64))
        inner = inner[(inner > lo) & (inner < hi)]
        ok = f(inner) >= target
        if ok.any():
            i = int(np.argmax(ok))
            hi = int(inner[i])
            lo = int(inner[i - 1]) if i > 0 else lo
        else:
            lo = int(inner[-1])
    return hi, cache[hi]


# ------------------------------------------------------------------------ closed form


def _closed_form(
    nodes, weights, c: float, z: float, r_inf: float, *, kind: str, value: float, reference_n
) -> tuple[float, str | None]:
    """The first-order estimate of ``n`` for a target and, when it is ``nan``, why.

    ``kind`` is ``"ratio"``, ``"radius"`` or ``"accuracy"``; ``value`` the target; ``c`` the
    first-order constant; ``r_inf`` the infinite-sample mean radius.
    """
    if kind == "accuracy":
        return (
            math.nan,
            "an accuracy target has no first-order law: the law is one of the mean radius",
        )
    if not math.isfinite(c):
        at_one = float(weights[nodes >= 1.0].sum())
        if at_one > 0:
            return math.nan, (
                f"Pr(p_A) has mass {at_one:.4g} at p = 1, where Phi^-1(p) is infinite and the "
                "first-order law has no constant"
            )
        return math.nan, "Pr(p_A) has no mass above p = 1/2: the first-order law has no constant"
    if kind == "radius":
        rho = value / r_inf
    elif reference_n is None:
        rho = value
    else:
        shrink = c * z / math.sqrt(reference_n)
        rho = value * (1.0 - shrink)
        if not 0.0 < rho < 1.0:
            return math.nan, (
                f"the first-order law gives no positive radius at reference_n={reference_n} "
                f"(1 - c z / sqrt(reference_n) = {1.0 - shrink:.4g} with c = {c:.4g}, z = {z:.4g})"
            )
    return _scaling.n_for_ratio(c, z, rho), None


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
    del at_radius  # the accuracy target's radius changes nothing here
    nodes, weights = _scaling.dist_quadrature(dist)
    alpha = check_real(alpha, name="alpha")
    sigma = check_real(sigma, name="sigma")
    if target_accuracy is not None:
        kind, value = "accuracy", target_accuracy
    elif target_radius is not None:
        kind, value = "radius", target_radius
    else:
        kind, value = "ratio", target_ratio
    c = float(_scaling.first_order_constant(dist))
    r_inf = _infinite_mean_radius(nodes, weights, sigma)
    z = _scaling.z_one_sided(alpha)
    return _closed_form(
        nodes, weights, c, z, r_inf, kind=kind, value=value, reference_n=reference_n
    )[1]


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
    check_alpha(alpha)
    check_sigma(sigma)
    alpha = check_real(alpha, name="alpha")
    sigma = check_real(sigma, name="sigma")
    n_max = check_int(n_max, name="n_max")

    given = [
        k
        for k, v in (
            ("target_ratio", target_ratio),
            ("target_radius", target_radius),
            ("target_accuracy", target_accuracy),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "exactly one of target_ratio, target_radius, target_accuracy must be given, got "
            + (", ".join(given) if given else "none")
        )
    if reference_n is not None and target_ratio is None:
        raise ValueError("reference_n is only used with target_ratio")
    if at_radius is not None and target_accuracy is None:
        raise ValueError("at_radius is only used with target_accuracy")

    z = _scaling.z_one_sided(alpha)
    c = float(_scaling.first_order_constant(dist))
    r_inf = _infinite_mean_radius(nodes, weights, sigma)

    def closed(kind: str, value: float, reference_n=None) -> float:
        return _closed_form(
            nodes, weights, c, z, r_inf, kind=kind, value=value, reference_n=reference_n
        )[0]

    def mean_radius(n):
        return np.asarray(_scaling.expected_radius(dist, n, alpha=alpha, sigma=sigma))

    if target_accuracy is not None:
        a = float(target_accuracy)
        if np.ndim(target_accuracy) != 0 or not (0.0 < a <= 1.0):
            raise ValueError(f"target_accuracy must lie in (0, 1], got {target_accuracy!r}")
        if at_radius is None:
            raise ValueError("at_radius must be given with target_accuracy")
        r0 = check_real(at_radius, name="at_radius", low=0.0)
        acc_inf = infinite_accuracy(nodes, weights, r0, sigma)
        if a > acc_inf:
            raise ValueError(
                f"target_accuracy={a!r} is unreachable: the infinite-sample certified accuracy "
                f"at radius {r0!r} is {acc_inf!r}"
            )
        n, got = _search(
            lambda n: np.asarray(
                _scaling.certified_accuracy(dist, n, radius=r0, alpha=alpha, sigma=sigma)
            ),
            a,
            n_max,
        )
        return Plan(n, got, a, closed("accuracy", a))

    if target_radius is not None:
        r = check_real(target_radius, name="target_radius", low=0.0, low_open=True)
        cap = float(_scaling.radius_cap(n_max, alpha=alpha, sigma=sigma))
        if r > cap:
            raise ValueError(
                f"target_radius={r!r} is unreachable: above the radius cap {cap!r} of "
                f"n_max={n_max} samples"
            )
        if r >= r_inf:
            raise ValueError(
                f"target_radius={r!r} is unreachable: not below the infinite-sample mean radius "
                f"{r_inf!r}"
            )
        estimate = closed("radius", r)
        n, got = _search(mean_radius, r, n_max, estimate)
        return Plan(n, got, r, estimate)

    t = check_real(
        target_ratio, name="target_ratio", low=0.0, high=1.0, low_open=True, high_open=True
    )
    if reference_n is None:
        if not math.isfinite(r_inf):
            raise ValueError(
                "target_ratio is unreachable against infinity: the infinite-sample mean radius is "
                "infinite (a node at p = 1); give reference_n"
            )
        ref = r_inf
    else:
        reference_n = check_int(reference_n, name="reference_n")
        ref = float(mean_radius(reference_n))
    if not ref > 0:
        raise ValueError(
            f"target_ratio is unreachable: the reference mean radius is {ref!r} (nothing is "
            f"certified)"
        )
    estimate = closed("ratio", t, reference_n)
    n, got = _search(mean_radius, t * ref, n_max, estimate)
    return Plan(n, got, t * ref, estimate)
