"""``scaling.radius_cap``: the largest radius an ``n``-sample certificate can give,
``R_max(n) = sigma Phi^-1(alpha^(1/n))`` (all ``n`` votes on one class)."""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._binomial_mp import binomial_tail_ge
from proofs_check._normal_mp import phi_inv_sym, phi_inverse_mp, phi_mp, phi_sym
from proofs_check._registry import CheckResult, max_relative_error, theorem
from proofs_check._registry import combine as _combine
from proofs_check._registry import max_scaled_error as _max_scaled_error
from proofs_check._registry import simplifies_to_zero as _zero
from proofs_check._registry import symbolic_result as _symbolic_result
from proofs_check._scaling_common import (
    ALPHA,
    ALPHAS,
    RTOL_CLOSED_FORM,
    SIGMAS,
    f64,
    rstheory_scaling,
)
from proofs_check.thm_clopper_pearson import RTOL_CP

__all__ = [
    "CAP_K_NS",
    "CAP_NS",
    "CAP_NS_LARGE",
    "CAP_SYMBOLS",
    "THEORY_CAP",
    "check_cap_numeric",
    "check_cap_symbolic",
]

# Relative error up to n = 1e5. Beyond, alpha**(1/n) rounds to a double within 1e-16 of
# 1 - 7e-8 (n = 1e8), which Phi^-1 amplifies to ~1e-11 relative: condition-scaled there.
CAP_NS = (1, 2, 10, 25, 100, 1000, 10**4, 10**5)

CAP_NS_LARGE = (10**6, 10**7, 10**8)

# L(k, n) <= alpha**(1/n) for every k: mpmath tails for n here, rstheory's cp_lower too.
CAP_K_NS = (1, 2, 10, 25, 100)

# R_max / sigma at alpha = 0.001 as evaluated for this project, printed in the detail.
THEORY_CAP = {25: 0.7017, 100: 1.5005, 1000: 2.4633, 10**4: 3.1986, 10**5: 3.8115}

_CP_CALL_LENGTH = 128

CAP_SYMBOLS = (sp.Symbol("n", integer=True, positive=True), sp.Symbol("alpha", positive=True))


def check_cap_symbolic(cap=None, max_n: int = 8) -> CheckResult:
    r"""``L(n, n) = alpha^(1/n)`` and every ``L(k, n) <= alpha^(1/n)`` (sympy).

    Steps: ``sum_{j=n}^{n} C(n, j) p^j (1-p)^(n-j) = p^n`` for symbolic ``n``; the stated
    cap solves ``p^n = alpha``; for every ``1 <= k <= n <= max_n``,
    ``P[Bin(n, p) >= k] - p^n = sum_{j=k}^{n-1} C(n, j) p^j q^(n-j)`` with ``q = 1 - p``,
    each term non-negative, so ``P[Bin(n, alpha^(1/n)) >= k] >= alpha``; the tail being
    increasing in ``p`` (``clopper_pearson.tail_inversion``), ``L(k, n) <= alpha^(1/n)``;
    and ``d Phi^-1/dp = sqrt(2 pi) exp(erfinv(2p - 1)^2) > 0``, so the largest radius is
    ``sigma Phi^-1(alpha^(1/n))``.

    Args:
      cap: optional replacement for ``alpha^(1/n)`` (a sympy expression in ``n`` and
        ``alpha`` of :data:`CAP_SYMBOLS`), so a wrong cap can be shown to fail.
      max_n: the polynomial identities are checked for every ``n`` up to this.

    Example:
      >>> check_cap_symbolic(max_n=3).passed
      True
    """
    n, alpha = CAP_SYMBOLS
    p = sp.Symbol("p", positive=True)
    q = sp.Symbol("q", nonnegative=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    cap = alpha ** (1 / n) if cap is None else cap
    term = sp.binomial(n, j) * p**j * (1 - p) ** (n - j)
    steps = [
        ("P[X >= n] = p^n", _zero(sp.Sum(term, (j, n, n)).doit() - p**n)),
        (f"L(n, n) = {cap} solves p^n = alpha", _zero(sp.powdenest(cap**n, force=True) - alpha)),
    ]
    ok = True
    for m in range(1, max_n + 1):
        for k in range(1, m + 1):
            tail = sum(sp.binomial(m, i) * p**i * (1 - p) ** (m - i) for i in range(k, m + 1))
            rest = [sp.binomial(m, i) * p**i * q ** (m - i) for i in range(k, m)]
            same = sp.expand(tail - p**m - sp.Add(*rest).subs(q, 1 - p)) == 0
            ok = ok and same and all(r.is_nonnegative for r in rest)
    steps.append((f"P[X >= k] - p^n = sum of non-negative terms, 1 <= k <= n <= {max_n}", ok))
    d = sp.diff(phi_inv_sym(p), p)
    y = sp.Symbol("y", real=True)  # erfinv(2p - 1), real for 0 < p < 1
    steps.append(
        (
            "d Phi^-1/dp = 1/phi(Phi^-1(p)) > 0",
            _zero(d - 1 / phi_sym(phi_inv_sym(p)))
            and bool(d.subs(sp.erfinv(2 * p - 1), y).is_positive),
        )
    )
    return _symbolic_result(steps)


@theorem(
    "scaling.radius_cap",
    statement="With all n votes on one class the one-sided Clopper-Pearson bound is "
    "alpha^(1/n) (P[Bin(n,p) >= n] = p^n), every L(k, n) <= alpha^(1/n), so no n-sample "
    "certificate exceeds R_max(n) = sigma Phi^-1(alpha^(1/n)) (0.7017 sigma at n = 25, "
    "1.5005 sigma at n = 100 for alpha = 0.001).",
    source="Clopper & Pearson (1934); Cohen, Rosenfeld & Kolter (2019), Thm 1; derived for this "
    "project",
    symbolic=check_cap_symbolic,
)
def check_cap_numeric(
    dps: int = 50,
    *,
    ns=CAP_NS,
    ns_large=CAP_NS_LARGE,
    k_ns=CAP_K_NS,
    alphas=ALPHAS,
    sigmas=SIGMAS,
    rtol: float = RTOL_CLOSED_FORM,
    radius_cap: Callable | None = None,
    cp_lower: Callable | None = None,
) -> CheckResult:
    """``radius_cap`` against ``sigma Phi^-1(alpha^(1/n))`` in mpmath; ``L(k, n) <= cap``.

    Three parts: the relative error of ``radius_cap`` over ``ns x alphas x sigmas``; over
    ``ns_large`` the error condition-scaled by ``sigma (|x| + q / phi(x))``,
    ``x = Phi^-1(q)``, ``q = alpha^(1/n)`` (the input ``q`` itself cannot be nearer than an
    ulp to ``1 - 7e-8``); and for every ``k = 0..n``, ``n`` in ``k_ns``: the mpmath tail
    ``P[Bin(n, alpha^(1/n)) >= k] >= alpha`` and ``cp_lower(k, n) <= alpha^(1/n) (1 + RTOL_CP)``
    (a failure counts as an infinite error). The stated ``R_max / sigma`` values
    (:data:`THEORY_CAP`) are printed in the detail, not checked.

    Example:
      >>> r = check_cap_numeric(30, ns=(100,), ns_large=(), k_ns=(), alphas=(1e-3,), sigmas=(1.0,))
      >>> r.passed, r.max_error < 1e-13
      (True, True)
    """
    radius_cap = radius_cap or rstheory_scaling("radius_cap")
    if cp_lower is None:
        from rstheory import cp_lower
    pts = [(n, a, s) for n in (*ns, *ns_large) for a in alphas for s in sigmas]
    got = [float(radius_cap(n, alpha=a, sigma=s)) for n, a, s in pts]
    rel, scaled = [], []
    with mpmath.workdps(dps):
        for (n, a, s), g in zip(pts, got, strict=True):
            q = mpmath.exp(mpmath.log(mpmath.mpf(a)) / n)
            x = phi_inverse_mp(q)
            ref = mpmath.mpf(s) * x
            label = f"n={n}, alpha={a:g}, sigma={s:g}"
            if n in ns_large:
                scaled.append((label, g, ref, mpmath.mpf(s) * (abs(x) + q / phi_mp(x))))
            else:
                rel.append((label, g, ref))
        parts = [max_relative_error(rel, tolerance=rtol, what="radius_cap vs mpmath, relative")]
        if scaled:
            parts.append(
                _max_scaled_error(scaled, tolerance=rtol, what="large n, condition-scaled")
            )
        bad, count = [], 0
        kn = [(k, n) for n in k_ns for k in range(n + 1)]
        # calls of exactly _CP_CALL_LENGTH entries, padded with (k, n) = (1, 2): the batch
        # size of the clopper_pearson checks, so a full report compiles no new program
        size = -(-len(kn) // _CP_CALL_LENGTH) * _CP_CALL_LENGTH
        k_arr, n_arr = np.ones(size), np.full(size, 2.0)
        k_arr[: len(kn)], n_arr[: len(kn)] = [x[0] for x in kn], [x[1] for x in kn]
        lows = np.concatenate(
            [
                f64(
                    cp_lower(
                        k_arr[i : i + _CP_CALL_LENGTH], n_arr[i : i + _CP_CALL_LENGTH], alpha=ALPHA
                    )
                )
                for i in range(0, size, _CP_CALL_LENGTH)
            ]
            or [np.zeros(0)]
        )[: len(kn)]
        a = mpmath.mpf(ALPHA)
        slack = 1 - mpmath.mpf(10) ** (5 - dps)  # the tail at a rounded cap may sit an ulp low
        for (k, n), low in zip(kn, lows, strict=True):
            count += 1
            q = mpmath.exp(mpmath.log(a) / n)
            tail_ok = k == 0 or binomial_tail_ge(k, n, q)[0] >= a * slack
            if not (tail_ok and low <= float(q) * (1 + RTOL_CP)):
                bad.append(f"k={k}, n={n}")
        detail = f"L(k, n) <= alpha^(1/n) for all {count} (k, n)"
        if bad:
            detail = f"L(k, n) > alpha^(1/n) at {len(bad)} of {count}, e.g. {bad[0]}"
        parts.append(CheckResult(not bad, math.inf if bad else 0.0, rtol, detail))
        sanity = ", ".join(
            f"{n}: {float(phi_inverse_mp(mpmath.exp(mpmath.log(mpmath.mpf(ALPHA)) / n))):.4f} ({v})"
            for n, v in THEORY_CAP.items()
        )
    result = _combine(parts, tolerance=rtol)
    return CheckResult(
        result.passed,
        result.max_error,
        rtol,
        result.detail + f"; R_max/sigma at alpha=1e-3, mpmath (stated): {sanity}",
    )
