r"""Clopper-Pearson bounds: the defining tail equations and their closed-form ends.

Two registered theorems:

``clopper_pearson.tail_inversion``
  For ``1 <= k <= n`` the lower bound ``L`` solves ``P[Bin(n, L) >= k] = alpha``, and
  ``P[Bin(n, p) >= k] = I_p(k, n - k + 1)`` (the regularized incomplete beta function),
  so ``L`` is the ``alpha`` quantile of ``Beta(k, n - k + 1)``. For ``0 <= k <= n - 1``
  the upper bound ``U`` solves ``P[Bin(n, U) <= k] = alpha``. By convention ``L = 0`` at
  ``k = 0`` and ``U = 1`` at ``k = n``.

``clopper_pearson.end_values``
  ``P[Bin(n, p) >= n] = p^n``, so ``L(n, n) = alpha^(1/n)``;
  ``P[Bin(n, p) <= 0] = (1 - p)^n``, so ``U(0, n) = 1 - alpha^(1/n)``;
  ``P[Bin(n, p) >= 1] = 1 - (1 - p)^n``, so ``L(1, n) = 1 - (1 - alpha)^(1/n)``.

The numeric checks evaluate binomial tails in mpmath by direct summation of the pmf
(exact up to a truncation far below ``10^-dps``), always under ``mpmath.workdps``.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp

import rstheory
from proofs_check._binomial_mp import (
    binomial_tail_ge,
    binomial_tail_le,
    error_below_one,
    implied_error,
)
from proofs_check._registry import CheckResult, max_relative_error, theorem

__all__ = [
    "DENSE_GRID",
    "GRID",
    "RTOL_CP",
    "binomial_tail_ge",
    "binomial_tail_le",
    "check_end_values_numeric",
    "check_end_values_symbolic",
    "check_tail_inversion",
    "check_tail_is_incomplete_beta",
]

# rstheory's documented accuracy for Clopper-Pearson bounds (relative, 1 <= n <= 1e8,
# 1e-15 <= alpha <= 0.5): the contract these checks hold it to.
RTOL_CP = 1e-10

ALPHAS = (1e-15, 1e-6, 1e-3, 0.5)
# (ns, alphas). k runs over the edges 0, 1, n - 1, n and two interior points per n.
GRID = ((1, 2, 10, 1000, 100_000), ALPHAS)
# A denser sweep for the slow tests.
DENSE_GRID = (
    (1, 2, 3, 5, 10, 30, 100, 1000, 10_000, 100_000, 1_000_000),
    (1e-15, 1e-10, 1e-6, 1e-3, 0.01, 0.05, 0.25, 0.5),
)

# Polynomial identities are checked for every n up to this (and k = 1..n).
SYMBOLIC_MAX_N = 8


def _grid_points(grid):
    ns, alphas = grid
    pts = []
    for n in ns:
        ks = sorted({0, 1, n // 2, (9 * n) // 10, n - 1, n} & set(range(n + 1)))
        pts += [(k, n, a) for k in ks for a in alphas]
    return pts


# --------------------------------------------------------------------------- (a) tail inversion


def check_tail_is_incomplete_beta(max_n: int = SYMBOLIC_MAX_N) -> CheckResult:
    r"""``P[Bin(n, p) >= k] = I_p(k, n - k + 1)`` as polynomial identities in ``p``.

    For every ``1 <= k <= n <= max_n`` sympy simplifies
    ``sum_{j >= k} C(n, j) p^j (1 - p)^(n - j) - int_0^p t^(k-1) (1 - t)^(n-k) dt / B(k, n-k+1)``
    to zero. The tail is therefore increasing in ``p`` from 0 to 1, so ``T(L) = alpha``
    has one root, the ``alpha`` quantile of ``Beta(k, n - k + 1)``.
    """
    p, t = sp.symbols("p t", positive=True)
    failures = []
    for n in range(1, max_n + 1):
        for k in range(1, n + 1):
            tail = sum(sp.binomial(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
            beta_fn = sp.factorial(k - 1) * sp.factorial(n - k) / sp.factorial(n)  # B(k, n-k+1)
            inc_beta = sp.integrate(t ** (k - 1) * (1 - t) ** (n - k), (t, 0, p)) / beta_fn
            if sp.simplify(sp.expand(tail - inc_beta)) != 0:
                failures.append((k, n))
    count = max_n * (max_n + 1) // 2
    detail = f"binomial tail == regularized incomplete beta for all 1 <= k <= n <= {max_n}"
    if failures:
        detail = f"identity fails for (k, n) in {failures[:5]}"
    return CheckResult(not failures, detail=f"{detail} ({count} identities)")


@theorem(
    "clopper_pearson.tail_inversion",
    statement="The CP lower bound L(k, n, alpha) solves P[Bin(n, L) >= k] = alpha, i.e. it is "
    "the alpha quantile of Beta(k, n - k + 1); the upper bound U solves "
    "P[Bin(n, U) <= k] = alpha; L = 0 at k = 0 and U = 1 at k = n.",
    source="Clopper & Pearson (1934), Biometrika 26(4); binomial-beta identity, DLMF 8.17.5",
    symbolic=check_tail_is_incomplete_beta,
)
def check_tail_inversion(
    dps: int = 50,
    *,
    grid=GRID,
    rtol: float = RTOL_CP,
    cp_lower=rstheory.cp_lower,
    cp_upper=rstheory.cp_upper,
) -> CheckResult:
    r"""rstheory's bounds put the binomial tail at ``alpha``, to ``rtol`` in the bound.

    For every grid point the tail at the returned bound is evaluated at ``dps`` digits.
    The residual ``r = T(L) / alpha - 1`` is turned into the relative error of ``L`` it
    implies, ``r / e`` with the elasticity ``e = d log T / d log p`` at ``L``
    (``e = k pmf(k) / T`` for the lower bound, ``(n - k) L/(1 - L) pmf(k) / T`` for the
    upper), so that a steep tail does not fail a bound that is as accurate as a float64
    can be. The ends must be exact: ``L = 0`` at ``k = 0``, ``U = 1`` at ``k = n``.

    Args:
      dps: mpmath working precision in decimal digits.
      grid: ``(ns, alphas)``; ``k`` runs over ``0, 1, n // 2, 9n // 10, n - 1, n``.
      rtol: largest acceptable relative error of a bound.
      cp_lower, cp_upper: the functions under test (rstheory's by default).

    Returns:
      :class:`CheckResult`; ``max_error`` is the largest implied relative error of a
      bound, and ``detail`` also gives the largest ``|T / alpha - 1|``.
    """
    pts = _grid_points(grid)
    k, n, a = (np.array(v) for v in zip(*pts, strict=True))
    lows = np.asarray(cp_lower(k, n, alpha=a), dtype=np.float64)
    highs = np.asarray(cp_upper(k, n, alpha=a), dtype=np.float64)
    worst, worst_at, worst_resid = 0.0, "", 0.0
    with mpmath.workdps(dps):
        for i, (ki, ni, ai) in enumerate(pts):
            alpha = mpmath.mpf(ai)
            for side, bound in (("lower", lows[i]), ("upper", highs[i])):
                bound = float(bound)
                label = f"{side}(k={ki}, n={ni}, alpha={ai:g}) = {bound!r}"
                edge = (side == "lower" and ki == 0) or (side == "upper" and ki == ni)
                if edge:
                    target = 0.0 if side == "lower" else 1.0
                    err, resid = (0.0 if bound == target else math.inf), 0.0
                elif side == "upper" and bound == 1.0:
                    # U = 1 - O(alpha / n) can round to 1.0: the error is then 1 - U_true,
                    # at most 2^-53 + the error of the largest double below 1.
                    err, resid = error_below_one(ki, ni, alpha)
                elif not 0.0 < bound < 1.0:
                    err, resid = math.inf, math.inf
                else:
                    err, resid = implied_error(side, ki, ni, mpmath.mpf(bound), alpha)
                if not err <= worst:
                    worst, worst_at = (math.inf if math.isnan(err) else err), label
                worst_resid = max(worst_resid, resid)
    detail = (
        f"{2 * len(pts)} bounds; max implied relative error {worst:.2e} at {worst_at}; "
        f"max |tail/alpha - 1| = {worst_resid:.2e}"
    )
    return CheckResult(worst <= rtol, worst, rtol, detail)


# --------------------------------------------------------------------------- (b) end values


def check_end_values_symbolic(
    closed_forms: dict[str, sp.Expr] | None = None,
) -> CheckResult:
    r"""Derive the tails at the ends with sympy and check the closed-form bounds solve them.

    With symbolic ``n`` (a positive integer), ``p`` and ``alpha`` (positive), sympy
    evaluates ``sum_{j=n}^{n}`` and ``sum_{j=0}^{0}`` of the binomial pmf to ``p^n`` and
    ``(1 - p)^n``; ``P[X >= 1] = 1 - P[X = 0]`` uses that the pmf sums to 1 (the binomial
    theorem; sympy expands it for ``n = 1..8``). Each closed form substituted into its
    tail equation must simplify to ``tail - alpha = 0``.

    Args:
      closed_forms: optional replacements for ``"L(n,n)"``, ``"U(0,n)"``, ``"L(1,n)"``
        (sympy expressions in the symbols ``n`` and ``alpha`` of this module), so a
        wrong formula can be shown to fail.
    """
    n, alpha, p, j = _SYMBOLS
    term = sp.binomial(n, j) * p**j * (1 - p) ** (n - j)
    tail_ge_n = sp.Sum(term, (j, n, n)).doit()
    tail_le_0 = sp.Sum(term, (j, 0, 0)).doit()
    derived = [
        ("P[X>=n] = p^n", sp.simplify(tail_ge_n - p**n) == 0),
        ("P[X<=0] = (1-p)^n", sp.simplify(tail_le_0 - (1 - p) ** n) == 0),
    ]
    total_is_one = all(
        sp.expand(sum(term.subs(n, m).subs(j, i) for i in range(m + 1)) - 1) == 0
        for m in range(1, SYMBOLIC_MAX_N + 1)
    )
    derived.append((f"sum of pmf = 1 (n <= {SYMBOLIC_MAX_N})", total_is_one))
    tail_ge_1 = 1 - tail_le_0

    forms = dict(END_VALUE_FORMS)
    forms.update(closed_forms or {})
    equations = [
        ("L(n,n)", tail_ge_n, forms["L(n,n)"]),
        ("U(0,n)", tail_le_0, forms["U(0,n)"]),
        ("L(1,n)", tail_ge_1, forms["L(1,n)"]),
    ]
    for label, tail, bound in equations:
        residual = sp.simplify(sp.powdenest(tail.subs(p, bound) - alpha, force=True))
        derived.append((f"{label} = {bound}", residual == 0))
    failed = [label for label, ok in derived if not ok]
    detail = "; ".join(label for label, _ in derived)
    if failed:
        detail = "does not simplify to zero: " + "; ".join(failed)
    return CheckResult(not failed, detail=detail)


# Symbols: n a positive integer, alpha in (0, 1) (positive suffices for the identities),
# p the success probability, j the summation index.
_SYMBOLS = (
    sp.Symbol("n", integer=True, positive=True),
    sp.Symbol("alpha", positive=True),
    sp.Symbol("p", positive=True),
    sp.Symbol("j", integer=True, nonnegative=True),
)
_n, _alpha = _SYMBOLS[:2]
END_VALUE_FORMS = {
    "L(n,n)": _alpha ** (1 / _n),
    "U(0,n)": 1 - _alpha ** (1 / _n),
    "L(1,n)": 1 - (1 - _alpha) ** (1 / _n),
}


def _end_references(n: int, alpha: float):
    """mpmath closed forms at the working precision: ``L(n,n), U(0,n), L(1,n)``."""
    a = mpmath.mpf(alpha)
    return {
        "L(n,n)": mpmath.exp(mpmath.log(a) / n),
        "U(0,n)": -mpmath.expm1(mpmath.log(a) / n),
        "L(1,n)": -mpmath.expm1(mpmath.log1p(-a) / n),
    }


@theorem(
    "clopper_pearson.end_values",
    statement="P[Bin(n,p) >= n] = p^n, P[Bin(n,p) <= 0] = (1-p)^n and "
    "P[Bin(n,p) >= 1] = 1 - (1-p)^n, hence L(n,n) = alpha^(1/n), "
    "U(0,n) = 1 - alpha^(1/n), L(1,n) = 1 - (1-alpha)^(1/n).",
    source="Clopper & Pearson (1934); the binomial pmf at its end points",
    symbolic=check_end_values_symbolic,
)
def check_end_values_numeric(
    dps: int = 50,
    *,
    ns=(1, 2, 10, 1000, 100_000, 10**8),
    alphas=ALPHAS,
    rtol: float = RTOL_CP,
    cp_lower=rstheory.cp_lower,
    cp_upper=rstheory.cp_upper,
) -> CheckResult:
    """rstheory at ``k = n``, ``k = 0`` and ``k = 1`` against the mpmath closed forms.

    Returns:
      :class:`CheckResult` with the largest relative error over ``ns x alphas``.
    """
    pts = [(n, a) for n in ns for a in alphas]
    n = np.array([q[0] for q in pts])
    a = np.array([q[1] for q in pts])
    # One call per function (k = n and k = 1 stacked), so each compiles once.
    lows = np.asarray(
        cp_lower(np.concatenate([n, np.ones_like(n)]), np.tile(n, 2), alpha=np.tile(a, 2))
    )
    got = {
        "L(n,n)": lows[: len(pts)],
        "U(0,n)": np.asarray(cp_upper(np.zeros_like(n), n, alpha=a)),
        "L(1,n)": lows[len(pts) :],
    }
    cases = []
    with mpmath.workdps(dps):
        for i, (ni, ai) in enumerate(pts):
            ref = _end_references(ni, ai)
            for key, values in got.items():
                cases.append((f"{key} at n={ni}, alpha={ai:g}", float(values[i]), ref[key]))
        return max_relative_error(cases, tolerance=rtol, what="closed-form ends")
