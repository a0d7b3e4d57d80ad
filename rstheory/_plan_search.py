r"""The sample-size search of :func:`rstheory.planning.required_samples`, in NumPy only.

Given a quadrature ``(nodes, weights)`` of Pr(p_A), its first-order constant ``c`` and
two evaluators of the exact expectations (the mean radius ``E[R_n]`` and the certified
accuracy ``acc_n(r_0)`` over an array of ``n``), :func:`solve` checks the target, finds
the smallest ``n`` that meets it (:func:`search`) and the first-order estimate beside it
(:func:`closed_form`: ``n = (c z / (1 - rho))^2``, ``z = Phi^-1(1 - alpha)``; the law of
:func:`rstheory.scaling.first_order_constant`). The evaluators are the JAX path's
(:mod:`rstheory._planning`) or the SciPy path's (:mod:`rstheory._plan_scipy`); both hand
their targets to :func:`solve` through :mod:`rstheory._plan_entry`, so both answer with the
same checks and the same search.

Example:
  >>> import numpy as np
  >>> from rstheory._plan_search import search
  >>> search(lambda n: np.sqrt(n), 10.0, 10**6)  # the smallest n with sqrt(n) >= 10
  (100, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.special

from rstheory._validation import check_int, check_real

__all__ = [
    "Plan",
    "closed_form",
    "first_order_constant_of",
    "infinite_accuracy",
    "infinite_mean_radius",
    "n_for_ratio",
    "reason",
    "search",
    "solve",
]


class Plan(NamedTuple):
    """Result of :func:`rstheory.planning.required_samples`.

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


def n_for_ratio(constant: float, z: float, rho: float) -> float:
    """Solve the first-order law ``1 - constant z / sqrt(n) = rho`` for ``n``.

    ``(constant z / (1 - rho))^2``; ``nan`` when ``rho`` is outside ``(0, 1)`` or the constant
    is not a positive finite number. Eq. (2) is the case ``constant = 1.64``, two-sided ``z``.
    """
    if not (math.isfinite(constant) and constant > 0 and 0.0 < rho < 1.0):
        return math.nan
    return (constant * z / (1.0 - rho)) ** 2


def first_order_constant_of(nodes: np.ndarray, weights: np.ndarray) -> float:
    r"""``K = E[sqrt(p (1 - p)) / phi(Phi^-1(p))] / E[Phi^-1(p)]`` over the nodes ``p > 1/2``.

    The constant of :func:`rstheory.scaling.first_order_constant` from a quadrature
    (1-D float64 arrays of equal length); ``nan`` without a node above 1/2 or with one
    at ``p = 1``.
    """
    keep = nodes > 0.5
    p, w = nodes[keep], weights[keep]
    if p.size == 0:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        x = scipy.special.ndtri(p)
        density = np.exp(-(x**2) / 2.0) / np.sqrt(2 * np.pi)  # scipy.stats.norm.pdf
        return float((w @ (np.sqrt(p * (1.0 - p)) / density)) / (w @ x))


def infinite_mean_radius(nodes: np.ndarray, weights: np.ndarray, sigma: float) -> float:
    """``E[sigma Phi^-1(p) 1{p > 1/2}]`` over a quadrature: the mean radius at ``n = inf``."""
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


def search(values, target: float, n_max: int, guess: float = math.nan) -> tuple[int, float]:
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


def closed_form(
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
    return n_for_ratio(c, z, rho), None


def _z_one_sided(alpha: float) -> float:
    """``Phi^-1(1 - alpha)`` (``scipy.stats.norm.isf``)."""
    return float(-scipy.special.ndtri(alpha))


def reason(nodes, weights, *, c: float, alpha: float, sigma: float, targets: dict) -> str | None:
    """Why the closed-form estimate of :func:`solve` is ``nan`` for ``targets``, or None.

    ``targets``: the keywords of :func:`rstheory.planning.required_samples` that were given.
    """
    if targets.get("target_accuracy") is not None:
        kind, value = "accuracy", targets["target_accuracy"]
    elif targets.get("target_radius") is not None:
        kind, value = "radius", targets["target_radius"]
    else:
        kind, value = "ratio", targets.get("target_ratio")
    r_inf = infinite_mean_radius(nodes, weights, sigma)
    return closed_form(
        nodes,
        weights,
        c,
        _z_one_sided(alpha),
        r_inf,
        kind=kind,
        value=value,
        reference_n=targets.get("reference_n"),
    )[1]


def solve(
    nodes: np.ndarray,
    weights: np.ndarray,
    *,
    c: float,
    alpha: float,
    sigma: float,
    mean_radius: Callable[[np.ndarray], np.ndarray],
    accuracy: Callable[[np.ndarray, float], np.ndarray],
    target_ratio=None,
    reference_n=None,
    target_radius=None,
    target_accuracy=None,
    at_radius=None,
    n_max: int,
) -> Plan:
    """:func:`rstheory.planning.required_samples` on a validated quadrature.

    ``alpha``, ``sigma``, ``n_max`` are validated floats and an int; ``c`` the first-order
    constant of the quadrature; ``mean_radius(ns)`` and ``accuracy(ns, r0)`` the exact
    ``E[R_n]`` and ``acc_n(r0)`` for an int64 array ``ns`` (or an int). The targets are
    checked here, as documented there.
    """
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

    z = _z_one_sided(alpha)
    r_inf = infinite_mean_radius(nodes, weights, sigma)

    def closed(kind: str, value: float, reference_n=None) -> float:
        return closed_form(
            nodes, weights, c, z, r_inf, kind=kind, value=value, reference_n=reference_n
        )[0]

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
        n, got = search(lambda n: accuracy(n, r0), a, n_max)
        return Plan(n, got, a, closed("accuracy", a))

    if target_radius is not None:
        r = check_real(target_radius, name="target_radius", low=0.0, low_open=True)
        cap = float(sigma * scipy.special.ndtri(np.power(alpha, 1.0 / n_max)))
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
        n, got = search(mean_radius, r, n_max, estimate)
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
    n, got = search(mean_radius, t * ref, n_max, estimate)
    return Plan(n, got, t * ref, estimate)
