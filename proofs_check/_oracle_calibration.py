"""``oracle.error_calibration``: the oracle's error rate bounded from labelled checks by the
one-sided Clopper-Pearson upper bound."""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._binomial_mp import error_below_one, implied_error
from proofs_check._oracle_common import (
    exact_cases,
    f64,
    rstheory_oracle,
)
from proofs_check._registry import CheckResult, theorem
from proofs_check._registry import combine as _combine
from proofs_check.thm_clopper_pearson import RTOL_CP

__all__ = [
    "CALIBRATION_GRID",
    "SYMBOLIC_MAX_M",
    "check_calibration_numeric",
    "check_calibration_symbolic",
]

# (ms, alphas); errors run over 0, 1, m // 2, m - 1, m.
CALIBRATION_GRID = ((1, 2, 10, 100, 1000, 100_000), (1e-6, 1e-3, 0.05))

# Polynomial identities of the calibration theorem are checked for every m up to this.
SYMBOLIC_MAX_M = 8


def check_calibration_symbolic(max_m: int = SYMBOLIC_MAX_M) -> CheckResult:
    r"""``d/dp P[Bin(m, p) <= e] = -m C(m-1, e) p^e (1-p)^(m-1-e)`` for ``0 <= e < m <= max_m``.

    The tail therefore falls strictly from 1 to 0 on ``(0, 1)``: ``P[Bin(m, U) <= e] = alpha``
    has exactly one root ``U``, and for a true error rate ``eps`` the event ``U < eps`` is
    ``errors <= e*`` for the ``e*`` with tail ``<= alpha`` at ``eps``, so ``P[U < eps] <=
    alpha``. At ``e = m`` the tail is identically 1 and ``U = 1``.
    """
    p = sp.Symbol("p", positive=True)
    failures = []
    for m in range(1, max_m + 1):
        for e in range(m + 1):
            tail = sum(sp.binomial(m, j) * p**j * (1 - p) ** (m - j) for j in range(e + 1))
            if e == m:
                ok = sp.expand(tail - 1) == 0
            else:
                slope = -m * sp.binomial(m - 1, e) * p**e * (1 - p) ** (m - 1 - e)
                ok = sp.expand(sp.diff(tail, p) - slope) == 0
            if not ok:
                failures.append((e, m))
    count = max_m * (max_m + 3) // 2
    if failures:
        return CheckResult(
            False, detail=f"tail derivative identity fails for (e, m) in {failures[:5]}"
        )
    return CheckResult(
        True,
        detail=f"d/dp P[Bin(m,p) <= e] = -m C(m-1,e) p^e (1-p)^(m-1-e) for 0 <= e < m <= "
        f"{max_m}, P[Bin(m,p) <= m] = 1 ({count} identities)",
    )


@theorem(
    "oracle.error_calibration",
    statement="From errors mistakes in m independent labelled oracle checks, eps_upper "
    "solves P[Bin(m, eps_upper) <= errors] = alpha (eps_upper = 1 at errors = m): a "
    "one-sided (1 - alpha) Clopper-Pearson upper bound on the oracle's error rate. It "
    "belongs in the sound bound (q - FP)/(1 - FP), which decreases in FP; the symmetric "
    "h(q, eps) increases in eps for q > 1/2, so an upper bound on eps would not be "
    "conservative there.",
    source="Clopper & Pearson (1934), Biometrika 26(4); the error-rate bound that "
    "Seferis et al. (2025), EMNLP, Th. 4.2 assumes",
    symbolic=check_calibration_symbolic,
)
def check_calibration_numeric(
    dps: int = 50,
    *,
    grid=CALIBRATION_GRID,
    rtol: float = RTOL_CP,
    estimate_error: Callable | None = None,
) -> CheckResult:
    """``estimate_error(errors, m, alpha=alpha).eps_upper`` puts ``P[Bin(m, .) <= errors]`` at
    ``alpha`` (mpmath tail, error as in ``clopper_pearson.tail_inversion``: the residual divided
    by the tail's elasticity, the tail from :func:`proofs_check._binomial_mp.binomial_tail_le`);
    exactly 1 at ``errors = m``; ``.alpha`` is ``alpha``."""
    estimate_error = estimate_error or rstheory_oracle("estimate_error")
    ms, alphas = grid
    pts = [
        (e, m, a)
        for m in ms
        for e in sorted({0, 1, m // 2, m - 1, m} & set(range(m + 1)))
        for a in alphas
    ]
    errors, m_arr, a_arr = (np.asarray(v) for v in zip(*pts, strict=True))
    result = estimate_error(errors, m_arr, alpha=f64(a_arr))
    upper = f64(result.eps_upper)
    alpha_back = f64(result.alpha)
    worst, worst_at, worst_resid = 0.0, "", 0.0
    with mpmath.workdps(dps):
        for (e, m, a), u in zip(pts, upper, strict=True):
            u = float(u)
            label = f"eps_upper(errors={e}, m={m}, alpha={a:g}) = {u!r}"
            if e == m:
                err, resid = (0.0 if u == 1.0 else math.inf), 0.0
            elif u == 1.0:
                err, resid = error_below_one(e, m, mpmath.mpf(a))
            elif not 0.0 < u < 1.0:
                err, resid = math.inf, math.inf
            else:
                err, resid = implied_error("upper", e, m, mpmath.mpf(u), mpmath.mpf(a))
            if not err <= worst:
                worst, worst_at = (math.inf if math.isnan(err) else err), label
            worst_resid = max(worst_resid, resid)
    tail = CheckResult(
        worst <= rtol,
        worst,
        rtol,
        f"{len(pts)} bounds; max implied relative error {worst:.2e} at {worst_at}; "
        f"max |P[Bin(m, U) <= errors]/alpha - 1| = {worst_resid:.2e}",
    )
    same_alpha = exact_cases(
        [
            (f"alpha={a:g}", float(b) == a)
            for (_, _, a), b in zip(pts, np.broadcast_to(alpha_back, upper.shape), strict=True)
        ],
        rtol,
        what="ErrorBound.alpha is the alpha passed",
    )
    return _combine([tail, same_alpha], tolerance=rtol)
