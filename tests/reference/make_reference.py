"""Generate ``tests/reference/cp_reference.json``: Clopper-Pearson bounds to 30 digits.

Run from the repository root (takes a few minutes on 2 cores)::

    python tests/reference/make_reference.py

Each case is one ``(k, n, alpha, side)`` with

* ``side == "lower"``: the ``p`` with ``P[Bin(n, p) >= k] = alpha``;
* ``side == "upper"``: the ``p`` with ``P[Bin(n, p) <= k] = alpha``.

``alpha`` is the float64 value of the decimal written in the file (``float("1e-15")``);
the reference is computed for that exact binary value, so it is the exact answer for
what a caller passes in float64.

Methods (field ``method``):

``mpmath50``
    Root of the binomial tail at 50 significant digits (``mpmath.workdps(50 + 20)``, the
    20 guard digits absorb cancellation in ``loggamma(n + 1) ~ 1.7e9`` at ``n = 1e8``). The
    tail is the sum of binomial pmf terms, started next to ``j = k`` from the log-space pmf
    (``loggamma``) and continued by the term ratio away from the mode until a term falls
    below ``10**-(working digits + 10)`` of the running sum (the far side of the mode as a
    complement; ``proofs_check._binomial_mp``). Newton's method on ``log tail - log alpha``
    (derivative ``k pmf(k) / p`` resp. ``-(n - k) pmf(k) / (1 - p)``) is iterated until a
    step changes ``p`` by less than ``10**-45`` relative, and the residual is recorded.
    ``mpmath.betainc`` is not used for this because its hypergeometric series stops
    converging already at ``a = b = 1e4`` (``ValueError``/``NoConvergence``; measured with
    mpmath 1.3.0: fine at ``a = b = 1e3``, failing at ``1e4 ... 5e5``); the pmf sum costs
    ``O(sqrt(n))`` terms and works up to ``n = 1e8``. Where ``n <= 1000`` the root is
    checked against ``mpmath.betainc`` (an independent route, hypergeometric series).
``closed-form``
    ``lower``: ``k = 0`` gives ``0``, ``k = n`` gives ``alpha**(1/n)``, ``k = 1`` gives
    ``1 - (1 - alpha)**(1/n)``. ``upper``: ``k = n`` gives ``1``, ``k = 0`` gives
    ``1 - alpha**(1/n)``, ``k = n - 1`` gives ``(1 - alpha)**(1/n)``. Evaluated in mpmath
    at 50 + 20 digits in expm1/log1p form (no cancellation); for ``n <= 1e4`` each is also
    checked against the root solver.
``scipy-boost``
    ``scipy.stats.beta.ppf`` / ``isf`` (Boost). Used only for a case whose mpmath root
    fails; none did when this file was last generated (the header counts them).

Every case also records ``scipy_relerr``: the relative difference between scipy
(``beta.ppf(alpha, k, n - k + 1)`` for lower, ``beta.isf(alpha, k + 1, n - k)`` for
upper, ``null`` where scipy has no value, e.g. ``k = 0`` lower gives NaN) and the
reference. The header summarizes it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import multiprocessing
import platform
import sys
import time
from pathlib import Path

import mpmath
import numpy as np
import scipy
import scipy.stats

from proofs_check._binomial_mp import binomial_tail_ge as tail_ge
from proofs_check._binomial_mp import binomial_tail_le as tail_le
from proofs_check._binomial_mp import cp_root

DPS = 50
GUARD_DPS = 20  # extra working digits: loggamma(1e8) ~ 1.7e9 and log1p(-p) near p = 1 eat digits
DIGITS_WRITTEN = 30
NEWTON_RTOL_EXP = 45  # stop Newton when |step| < 10**-45 * p
BETAINC_CHECK_NMAX = 1000  # mpmath.betainc converges here (measured); not beyond 1e4

N_GRID = [1, 2, 3, 5, 10, 20, 50, 100, 1000, 10**4, 10**5, 10**6, 10**7, 10**8]
ALPHA_GRID = ["1e-15", "1e-10", "1e-6", "1e-3", "0.01", "0.05", "0.25", "0.5"]
SIDES = ["lower", "upper"]
OUT = Path(__file__).with_name("cp_reference.json")


def k_grid(n: int) -> list[int]:
    """The k values for one n: small counts, fractions of n, and the top end."""
    ks = {0, 1, 2, 3, n // 100, n // 10, n // 2, (9 * n) // 10, n - 2, n - 1, n}
    return sorted(k for k in ks if 0 <= k <= n)


# ---------------------------------------------------------------- mpmath route


def root_mpmath(k: int, n: int, alpha: float, side: str, start: float):
    """Newton on ``log tail(p) - log alpha`` at ``DPS`` digits; returns ``(p, residual, iters)``."""
    with mpmath.workdps(DPS + GUARD_DPS):
        a = mpmath.mpf(alpha)
        p, it = cp_root(k, n, a, side, start=start, rtol=mpmath.mpf(10) ** (-NEWTON_RTOL_EXP))
        tail = tail_ge(k, n, p)[0] if side == "lower" else tail_le(k, n, p)[0]
        return p, abs(tail / a - 1), it


def closed_form(k: int, n: int, alpha: float, side: str):
    """Exact values at the ends, or None."""
    mp = mpmath.mp
    with mpmath.workdps(DPS + GUARD_DPS):
        a = mp.mpf(alpha)
        # expm1/log1p forms: 1 - (1 - alpha)**(1/n) ~ alpha/n would cancel in 1 - (...)
        if side == "lower":
            if k == 0:
                return mp.mpf(0)
            if k == n:
                return mp.exp(mp.log(a) / n)  # alpha**(1/n)
            if k == 1:
                return -mp.expm1(mp.log1p(-a) / n)  # 1 - (1 - alpha)**(1/n)
        else:
            if k == n:
                return mp.mpf(1)
            if k == 0:
                return -mp.expm1(mp.log(a) / n)  # 1 - alpha**(1/n)
            if k == n - 1:
                return mp.exp(mp.log1p(-a) / n)  # (1 - alpha)**(1/n)
    return None


def scipy_value(k: int, n: int, alpha: float, side: str) -> float:
    with np.errstate(all="ignore"):
        if side == "lower":
            return float(scipy.stats.beta.ppf(alpha, k, n - k + 1))
        return float(scipy.stats.beta.isf(alpha, k + 1, n - k))


def betainc_residual(k: int, n: int, alpha: float, side: str, p) -> float | None:
    """|I/alpha - 1| via mpmath.betainc (hypergeometric route), or None if it fails."""
    mp = mpmath.mp
    with mpmath.workdps(DPS):
        try:
            if side == "lower":
                val = mp.betainc(k, n - k + 1, 0, p, regularized=True)
            else:
                val = mp.betainc(k + 1, n - k, p, 1, regularized=True)
        except Exception:
            return None
        return float(abs(val / mp.mpf(alpha) - 1))


def _fmt(v) -> str:
    if v == 0:
        return "0"
    if v == 1:
        return "1"
    return mpmath.nstr(v, DIGITS_WRITTEN, min_fixed=1, max_fixed=0, strip_zeros=False)


def compute_case(args):
    k, n, alpha_s, side = args
    alpha = float(alpha_s)
    t0 = time.perf_counter()
    sp = scipy_value(k, n, alpha, side)
    extra = {}
    cf = closed_form(k, n, alpha, side)
    if cf is not None:
        value, method = cf, "closed-form"
        if 0 < cf < 1 and n <= 10**4:  # cross-check the closed form with the root solver
            root, _, _ = root_mpmath(k, n, alpha, side, float(cf))
            with mpmath.workdps(DPS + GUARD_DPS):
                extra["closed_form_vs_root"] = float(abs(root / cf - 1))
    else:
        try:
            value, resid, iters = root_mpmath(k, n, alpha, side, sp)
            method = "mpmath50"
            extra["newton_iters"] = iters
            extra["residual"] = float(resid)
            if n <= BETAINC_CHECK_NMAX:
                extra["betainc_residual"] = betainc_residual(k, n, alpha, side, value)
        except RuntimeError:
            value, method = mpmath.mpf(sp), "scipy-boost"
    with mpmath.workdps(DPS):
        if math.isfinite(sp) and value != 0:
            sp_err = float(abs(mpmath.mpf(sp) / value - 1))
        elif math.isfinite(sp):
            sp_err = 0.0 if sp == 0 else float("inf")
        else:
            sp_err = None
    case = {
        "k": k,
        "n": n,
        "alpha": alpha_s,
        "side": side,
        "value": _fmt(value),
        "method": method,
        "scipy_relerr": sp_err,
    }
    return case, extra, time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args(argv)

    tasks = [(k, n, a, s) for n in N_GRID for k in k_grid(n) for a in ALPHA_GRID for s in SIDES]
    # Longest first so the pool stays busy at the end.
    tasks.sort(key=lambda t: -t[1])
    t0 = time.perf_counter()
    with multiprocessing.Pool(args.processes) as pool:
        results = pool.map(compute_case, tasks, chunksize=1)
    elapsed = time.perf_counter() - t0

    order = {s: i for i, s in enumerate(SIDES)}
    results.sort(key=lambda r: (r[0]["n"], r[0]["k"], float(r[0]["alpha"]), order[r[0]["side"]]))
    cases = [r[0] for r in results]

    def worst(key, pick):
        rows = [(r[1].get(key), r[0]) for r in results if pick(r) and r[1].get(key) is not None]
        if not rows:
            return None
        v, c = max(rows, key=lambda x: x[0])
        return {"max": v, "count": len(rows), "at": {f: c[f] for f in ("k", "n", "alpha", "side")}}

    def worst_scipy(pick):
        rows = [(c["scipy_relerr"], c) for c in cases if pick(c) and c["scipy_relerr"] is not None]
        v, c = max(rows, key=lambda x: x[0])
        return {"max": v, "count": len(rows), "at": {f: c[f] for f in ("k", "n", "alpha", "side")}}

    counts = {
        m: sum(c["method"] == m for c in cases) for m in ("mpmath50", "closed-form", "scipy-boost")
    }
    header = {
        "description": (
            "One-sided Clopper-Pearson bounds. lower: p with P[Bin(n,p) >= k] = alpha; "
            "upper: p with P[Bin(n,p) <= k] = alpha. alpha is float(alpha string), exactly."
        ),
        "command": "python tests/reference/make_reference.py",
        "argv": [Path(sys.argv[0]).as_posix(), *sys.argv[1:]],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "generation_seconds": round(elapsed, 1),
        "processes": args.processes,
        "versions": {
            "python": platform.python_version(),
            "mpmath": mpmath.__version__,
            "mpmath_backend": mpmath.libmp.BACKEND,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "dps": DPS,
        "digits_written": DIGITS_WRITTEN,
        "pmf_truncation": f"1e-{DPS + GUARD_DPS + 10}",
        "newton_rtol": f"1e-{NEWTON_RTOL_EXP}",
        "grid": {
            "n": N_GRID,
            "alpha": ALPHA_GRID,
            "k": "{0,1,2,3,n//100,n//10,n//2,9n//10,n-2,n-1,n}",
        },
        "method_counts": counts,
        "checks": {
            "scipy_vs_reference_all": worst_scipy(lambda c: True),
            "scipy_vs_reference_mpmath50": worst_scipy(lambda c: c["method"] == "mpmath50"),
            "scipy_vs_reference_lower": worst_scipy(lambda c: c["side"] == "lower"),
            "scipy_vs_reference_upper": worst_scipy(lambda c: c["side"] == "upper"),
            "newton_residual": worst("residual", lambda r: True),
            "betainc_residual_n_le_1000": worst("betainc_residual", lambda r: True),
            "closed_form_vs_root_n_le_1e4": worst("closed_form_vs_root", lambda r: True),
            "newton_iters": worst("newton_iters", lambda r: True),
            "slowest_case_seconds": round(max(r[2] for r in results), 2),
        },
    }
    args.out.write_text(json.dumps({"header": header, "cases": cases}, indent=1) + "\n")
    print(json.dumps(header, indent=1))
    print(f"wrote {len(cases)} cases to {args.out} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
