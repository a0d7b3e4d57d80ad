r"""Coverage of the estimators of :mod:`rstheory.bounds`, checked at mpmath precision.

Registered theorems (``bounds.*``, ``confseq.*``, ``multiclass.*``):

``bounds.clopper_pearson_coverage``
  ``inf_p P_p[L(K) <= p] >= 1 - alpha``. It follows from the tail inversion checked in
  ``clopper_pearson.tail_inversion`` (not repeated here); this entry sums the binomial pmf.
``bounds.hoeffding_coverage``, ``bounds.empirical_bernstein_coverage``
  Exact coverage ``>= 1 - alpha`` by mpmath binomial sums, and the closed forms by sympy.
``bounds.randomized_cp_exact_size``
  The bound solves ``P[X > k] + u P[X = k] = alpha`` (mpmath residual) and the coverage,
  integrated over ``u`` analytically, is exactly ``1 - alpha``.
``bounds.wilson_not_valid``
  The Wilson bound is NOT valid: the entry passes when it exhibits a ``(p, n)`` whose
  exact coverage is below ``1 - alpha``.
``confseq.mixture_martingale``
  ``p0 M(k+1, n+1) + (1 - p0) M(k, n+1) = M(k, n)`` (sympy, from
  ``B(x+1, y) + B(x, y+1) = B(x, y)``), and Ville's inequality for rstheory's ends: the
  exact probability (DP over ``(n, k)`` in mpmath) that the sequence ever misses ``p``
  for ``n <= N`` is ``<= alpha``.
``confseq.ends``
  rstheory's ends against mpmath roots of ``log M_n(p0) = log(1/alpha)``.
``multiclass.bonferroni_coverage``
  ``P[pA_lower <= p_A, pB_upper >= max_{j != A} p_j] >= 1 - alpha`` by exact multinomial
  sums, ``K = 3``, ``A`` fixed.

Every call into rstheory is padded to one fixed length, so each jitted program compiles once.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import sympy as sp

from proofs_check._binomial_mp import binomial_tail_ge, log_pmf
from proofs_check._registry import (
    CheckResult,
    combine,
    max_relative_error,
    symbolic_result,
    theorem,
)
from rstheory import bounds
from rstheory._confseq import betabinomial_cs

__all__ = [
    "check_bonferroni",
    "check_clopper_pearson_coverage",
    "check_coverage",
    "check_cs_ends",
    "check_empirical_bernstein_coverage",
    "check_hoeffding_coverage",
    "check_hoeffding_symbolic",
    "check_martingale_identity",
    "check_randomized_exact_size",
    "check_ville",
    "check_wilson_deficiency",
    "exact_coverage_mp",
]

CHUNK = 1024
NS = (1, 2, 5, 20, 60)
ALPHAS = (0.05, 0.2)
JUMP_OFFSET = mpmath.mpf("1e-9")  # probes sit this far (relative) past each jump
RTOL_RANDOMIZED = 1e-10
RTOL_CS_ENDS = 1e-9


def _padded(fn, *arrays, **options):
    """``fn`` on the flattened arrays padded to CHUNK (repeating element 0), cut back."""
    flat = [np.ravel(a) for a in np.broadcast_arrays(*(np.asarray(a) for a in arrays))]
    size = flat[0].size
    assert size <= CHUNK
    padded = [np.concatenate([a, np.repeat(a[:1], CHUNK - size)]) for a in flat]
    opts = {
        k: (
            np.concatenate([np.ravel(v), np.repeat(np.ravel(v)[:1], CHUNK - size)])
            if k == "u"
            else v
        )
        for k, v in options.items()
    }
    out = fn(*padded, **opts)
    if isinstance(out, tuple):
        return tuple(np.asarray(o)[:size] for o in out)
    return np.asarray(out, dtype=np.float64)[:size]


def _pmf(k, n, p):
    if p == 0:
        return mpmath.mpf(k == 0)
    if p == 1:
        return mpmath.mpf(k == n)
    return mpmath.exp(log_pmf(k, n, p))


def exact_coverage_mp(values, n, side="lower"):
    """``min_p P_p[bound(K) covers p]`` at mpmath precision, over a uniform grid and the
    points just past every jump (just below a lower / just above an upper bound).

    Returns ``(coverage, p)`` at the minimum.
    """
    probes = [mpmath.mpf(i) / 40 for i in range(41)]
    for v in values:
        v = mpmath.mpf(float(v))
        probes.append(v * (1 - JUMP_OFFSET) if side == "lower" else v + (1 - v) * JUMP_OFFSET)
    worst = (mpmath.mpf(2), None)
    for p in probes:
        if not 0 <= p <= 1:
            continue
        cover = [(float(v) <= p) if side == "lower" else (float(v) >= p) for v in values]
        cov = mpmath.fsum(_pmf(k, n, p) for k in range(n + 1) if cover[k])
        worst = min(worst, (cov, p), key=lambda t: t[0])
    return worst


def check_coverage(
    dps: int = 50, *, method: str = "clopper_pearson", ns=NS, alphas=ALPHAS
) -> CheckResult:
    """Exact coverage of ``method`` (both sides) is ``>= 1 - alpha`` on ``ns x alphas``."""
    worst, at = math.inf, ""
    with mpmath.workdps(dps):
        for n in ns:
            k = np.arange(n + 1)
            for a in alphas:
                for side, fn in (("lower", bounds.lower_bound), ("upper", bounds.upper_bound)):
                    vals = _padded(
                        lambda kk, nn, aa, fn=fn: fn(kk, nn, alpha=aa, method=method), k, n, a
                    )
                    cov, p = exact_coverage_mp(vals, n, side)
                    margin = float(cov - (1 - mpmath.mpf(a)))
                    if margin < worst:
                        worst, at = margin, f"{side}, n={n}, alpha={a}, p={float(p):.6g}"
    detail = f"{method}: min over grid of coverage - (1 - alpha) = {worst:.3g} at {at}"
    return CheckResult(worst >= 0, -worst, 0.0, detail)


def check_hoeffding_symbolic() -> CheckResult:
    """``exp(-2 n t^2) = alpha`` at ``t = sqrt(log(1/alpha) / (2n))``; the Bernoulli sample
    variance of ``k`` ones and ``n - k`` zeros is ``k (n - k) / (n (n - 1))``."""
    n, alpha, k = sp.symbols("n alpha k", positive=True)
    t = sp.sqrt(sp.log(1 / alpha) / (2 * n))
    steps = [("exp(-2 n t^2) = alpha", sp.simplify(sp.exp(-2 * n * t**2) - alpha) == 0)]
    mean = k / n
    var = (k * (1 - mean) ** 2 + (n - k) * mean**2) / (n - 1)
    steps.append(("V_n = k(n-k)/(n(n-1))", sp.simplify(var - k * (n - k) / (n * (n - 1))) == 0))
    return symbolic_result(steps)


@theorem(
    "bounds.clopper_pearson_coverage",
    statement="The one-sided Clopper-Pearson bounds have exact coverage >= 1 - alpha for every p "
    "(a consequence of clopper_pearson.tail_inversion: L(K) > p iff P_p[X >= K] < alpha).",
    source="Clopper & Pearson (1934), Biometrika 26(4)",
)
def check_clopper_pearson_coverage(dps: int = 50) -> CheckResult:
    """:func:`check_coverage` for ``"clopper_pearson"``."""
    return check_coverage(dps, method="clopper_pearson")


@theorem(
    "bounds.hoeffding_coverage",
    statement="k/n - sqrt(log(1/alpha)/(2n)), clipped to [0, 1], has coverage >= 1 - alpha "
    "for every p.",
    source="Hoeffding (1963), JASA 58, Thm 1",
    symbolic=check_hoeffding_symbolic,
)
def check_hoeffding_coverage(dps: int = 50) -> CheckResult:
    """:func:`check_coverage` for ``"hoeffding"``."""
    return check_coverage(dps, method="hoeffding")


@theorem(
    "bounds.empirical_bernstein_coverage",
    statement="k/n - sqrt(2 V log(2/alpha)/n) - 7 log(2/alpha)/(3(n-1)) with V = k(n-k)/(n(n-1)), "
    "clipped to [0, 1], has coverage >= 1 - alpha for every p.",
    source="Maurer & Pontil (2009), COLT, Thm 4",
    symbolic=check_hoeffding_symbolic,
)
def check_empirical_bernstein_coverage(dps: int = 50) -> CheckResult:
    """:func:`check_coverage` for ``"empirical_bernstein"``."""
    return check_coverage(dps, method="empirical_bernstein")


# --------------------------------------------------------------------------- randomized CP


def _u_threshold(k, n, p, alpha):
    """The u from which lower(k, u) <= p: clip((alpha - P[X > k]) / P[X = k], 0, 1)."""
    tail_above = binomial_tail_ge(k + 1, n, p)[0] if k < n else mpmath.mpf(0)
    return min(max((alpha - tail_above) / _pmf(k, n, p), 0), 1)


@theorem(
    "bounds.randomized_cp_exact_size",
    statement="With U ~ Uniform(0,1) independent, the p solving P[X > k] + U P[X = k] = alpha "
    "is a lower bound with coverage exactly 1 - alpha for every p.",
    source="Stevens (1950), Biometrika 37; the telescoping sum over k",
)
def check_randomized_exact_size(dps: int = 50, *, ns=(1, 7, 40), alpha=0.1) -> CheckResult:
    """Residual of ``P[X > k] + u P[X = k] = alpha`` at rstheory's bound (as the relative
    error in ``p`` it implies), and ``sum_k pmf(k) (1 - u*(k, p)) = 1 - alpha`` exactly."""
    cases, cov_err = [], mpmath.mpf(0)
    with mpmath.workdps(dps):
        a = mpmath.mpf(alpha)
        for n in ns:
            k = np.repeat(np.arange(1, n), 3) if n > 1 else np.array([1])
            u = np.tile([0.2, 0.5, 0.9], max(n - 1, 1))[: k.size]
            vals = _padded(
                lambda kk, nn, aa, u: bounds.lower_bound(
                    kk, nn, alpha=aa, method="randomized_clopper_pearson", u=u
                ),
                k,
                n,
                alpha,
                u=u,
            )
            for ki, ui, v in zip(k, u, vals, strict=True):
                ki, ui, p = int(ki), mpmath.mpf(float(ui)), mpmath.mpf(float(v))
                if ki == n:
                    cases.append(
                        (f"k=n={n}, u={float(ui)}", float(v), mpmath.exp(mpmath.log(a / ui) / n))
                    )
                    continue
                g = binomial_tail_ge(ki + 1, n, p)[0] + ui * _pmf(ki, n, p)
                dg = _pmf(ki, n, p) * ((1 - ui) * (n - ki) * p + ui * ki * (1 - p)) / (p * (1 - p))
                root = p - (g - a) / dg  # one Newton step from rstheory's value: the true root
                cases.append((f"k={ki}, n={n}, u={float(ui)}", float(v), root))
            for p in (mpmath.mpf("0.003"), mpmath.mpf("0.37"), mpmath.mpf("0.991")):
                cov = mpmath.fsum(
                    _pmf(j, n, p) * (1 - _u_threshold(j, n, p, a)) for j in range(n + 1)
                )
                cov_err = max(cov_err, abs(cov - (1 - a)))
        roots = max_relative_error(
            cases, tolerance=RTOL_RANDOMIZED, what="root of P[X>k] + u P[X=k] = alpha"
        )
        tol = mpmath.mpf(10) ** (5 - dps)
        size = CheckResult(
            cov_err < tol,
            float(cov_err),
            float(tol),
            f"|coverage - (1 - alpha)| = {float(cov_err):.2e}",
        )
    return combine([roots, size], tolerance=RTOL_RANDOMIZED)


@theorem(
    "bounds.wilson_not_valid",
    statement="The Wilson score bound is NOT a valid one-sided bound: some (p, n) has exact "
    "coverage below 1 - alpha. This entry passes when such a (p, n) is exhibited.",
    source="Brown, Cai & DasGupta (2001), Statist. Sci. 16(2)",
)
def check_wilson_deficiency(dps: int = 50, *, ns=(5, 10, 20, 60), alpha=0.05) -> CheckResult:
    """Passes when some ``(p, n)`` has exact Wilson coverage below ``1 - alpha``."""
    found = []
    with mpmath.workdps(dps):
        for n in ns:
            vals = _padded(
                lambda kk, nn, aa: bounds.lower_bound(kk, nn, alpha=aa, method="wilson"),
                np.arange(n + 1),
                n,
                alpha,
            )
            cov, p = exact_coverage_mp(vals, n)
            if cov < 1 - mpmath.mpf(alpha):
                found.append(f"n={n}, p={float(p):.6g}: coverage {float(cov):.6f}")
    detail = f"Wilson lower bound, alpha={alpha}: coverage below {1 - alpha} at " + "; ".join(found)
    return CheckResult(bool(found), math.nan, math.nan, detail if found else "no deficiency found")


# --------------------------------------------------------------------------- confidence sequence


def check_martingale_identity() -> CheckResult:
    """``p0 M(k+1, n+1) + (1 - p0) M(k, n+1) = M(k, n)`` for the beta-binomial mixture."""
    a, b, k, n, p0 = sp.symbols("a b k n p0", positive=True)

    def beta(x, y):
        return sp.gamma(x) * sp.gamma(y) / sp.gamma(x + y)

    def mix(kk, nn):
        return beta(a + kk, b + nn - kk) / (beta(a, b) * p0**kk * (1 - p0) ** (nn - kk))

    x, y = sp.symbols("x y", positive=True)
    steps = [
        (
            "B(x+1,y) + B(x,y+1) = B(x,y)",
            sp.gammasimp(beta(x + 1, y) + beta(x, y + 1) - beta(x, y)) == 0,
        ),
        (
            "p0 M(k+1,n+1) + (1-p0) M(k,n+1) = M(k,n)",
            sp.gammasimp(
                sp.powsimp(
                    p0 * mix(k + 1, n + 1) + (1 - p0) * mix(k, n + 1) - mix(k, n), force=True
                )
            )
            == 0,
        ),
    ]
    return symbolic_result(steps)


def _cs_table(n_max, alpha):
    n = np.repeat(np.arange(1, n_max + 1), np.arange(2, n_max + 2))
    k = np.concatenate([np.arange(m + 1) for m in range(1, n_max + 1)])
    low, high = [], []
    for s in range(0, k.size, CHUNK):
        lo, hi = _padded(
            lambda kk, nn, aa: tuple(betabinomial_cs(kk, nn, alpha=aa)),
            k[s : s + CHUNK],
            n[s : s + CHUNK],
            alpha,
        )
        low.append(lo)
        high.append(hi)
    return np.concatenate(low), np.concatenate(high)


@theorem(
    "confseq.mixture_martingale",
    statement="M_n(p0) = B(a+k, b+n-k) / (B(a,b) p0^k (1-p0)^(n-k)) is a martingale under p0 "
    "(p0 M(k+1,n+1) + (1-p0) M(k,n+1) = M(k,n)); by Ville's inequality the sequence "
    "{p0: M_n(p0) < 1/alpha} misses p at some n with probability <= alpha.",
    source="Robbins (1970), Ann. Math. Statist. 41; Ville (1939)",
    symbolic=check_martingale_identity,
)
def check_ville(dps: int = 50, *, n_max=60, alpha=0.1, ps=("0.1", "0.5", "0.85")) -> CheckResult:
    """P[exists n <= n_max: p not in (low_n, high_n)] <= alpha, by DP at ``dps`` digits."""
    low, high = _cs_table(n_max, alpha)
    worst, at = mpmath.mpf(0), ""
    with mpmath.workdps(dps):
        for ps_ in ps:
            p = mpmath.mpf(ps_)
            alive, crossed, start = [mpmath.mpf(1)], mpmath.mpf(0), 0
            for n in range(1, n_max + 1):
                nxt = [mpmath.mpf(0)] * (n + 1)
                for j, m in enumerate(alive):
                    nxt[j] += m * (1 - p)
                    nxt[j + 1] += m * p
                for j in range(n + 1):
                    if not (low[start + j] <= p <= high[start + j]):
                        crossed += nxt[j]
                        nxt[j] = mpmath.mpf(0)
                alive, start = nxt, start + n + 1
            if crossed > worst:
                worst, at = crossed, ps_
    detail = (
        f"max over p of P[CS misses p for some n <= {n_max}] = {float(worst):.4g} "
        f"(alpha {alpha}) at p={at}"
    )
    return CheckResult(worst <= alpha, float(worst), alpha, detail)


def _mp_log_mixture(p0, k, n, a, b):
    return (
        mpmath.log(mpmath.beta(a + k, b + n - k))
        - mpmath.log(mpmath.beta(a, b))
        - k * mpmath.log(p0)
        - (n - k) * mpmath.log1p(-p0)
    )


def _bisect(f, outside, inside):
    """Root of ``f`` between ``outside`` (``f > 0``) and ``inside`` (``f <= 0``), bisected
    geometrically (in ``p`` near 0, in ``1 - p`` near 1) until ``10^-(dps + 5)`` relative."""
    upper_side = outside > inside
    for _ in range(4 * mpmath.mp.dps + 60):
        if upper_side:
            mid = 1 - mpmath.sqrt((1 - outside) * (1 - inside))
        else:
            mid = mpmath.sqrt(outside * inside)
        if f(mid) > 0:
            outside = mid
        else:
            inside = mid
    return (outside + inside) / 2


@theorem(
    "confseq.ends",
    statement="The ends of betabinomial_cs are the roots of log M_n(p0) = log(1/alpha).",
    source="definition of the confidence sequence (rstheory._confseq)",
)
def check_cs_ends(
    dps: int = 50, *, cases=((3, 10, 0.05), (90, 100, 0.001), (500, 2000, 0.1), (1, 1000, 1e-6))
) -> CheckResult:
    """rstheory's ends against mpmath roots of ``log M_n(p0) = log(1/alpha)`` (bisection)."""
    k = np.array([c[0] for c in cases])
    n = np.array([c[1] for c in cases])
    a = np.array([c[2] for c in cases])
    low, high = _padded(lambda kk, nn, aa: tuple(betabinomial_cs(kk, nn, alpha=aa)), k, n, a)
    out = []
    with mpmath.workdps(dps):
        for i, (ki, ni, ai) in enumerate(cases):
            target = mpmath.log(1 / mpmath.mpf(ai))

            def f(p0, ki=ki, ni=ni, target=target):
                return _mp_log_mixture(p0, ki, ni, 1, 1) - target

            mle = mpmath.mpf(ki) / ni
            far = mpmath.mpf(10) ** (5 - dps)  # representable next to 1 at this precision
            if ki > 0:
                out.append((f"low(k={ki}, n={ni})", low[i], _bisect(f, far, mle)))
            if ki < ni:
                out.append((f"high(k={ki}, n={ni})", high[i], _bisect(f, 1 - far, mle)))
        return max_relative_error(out, tolerance=RTOL_CS_ENDS, what="CS ends vs mpmath roots")


# --------------------------------------------------------------------------- multiclass


@theorem(
    "multiclass.bonferroni_coverage",
    statement="With A fixed, CP_lower(c_A, n, alpha/2) <= p_A and min(CP_upper(c_B, n, alpha/2), "
    "1 - pA_lower) >= max_{j != A} p_j hold simultaneously with probability >= 1 - alpha "
    "(B the runner-up count).",
    source="Bonferroni (union bound); Cohen, Rosenfeld & Kolter (2019), Thm 1",
)
def check_bonferroni(
    dps: int = 50,
    *,
    ns=(4, 9, 15),
    alpha=0.1,
    ps=(("1/2", "3/10", "1/5"), ("1/3", "1/3", "1/3"), ("3/10", "1/2", "1/5")),
) -> CheckResult:
    """Exact multinomial coverage of the Bonferroni bounds, K = 3, top class 0 fixed."""
    worst, at = math.inf, ""
    with mpmath.workdps(dps):
        for n in ns:
            c = np.array(
                [
                    (i, j, n - i - j)
                    for i, j in itertools.product(range(n + 1), repeat=2)
                    if i + j <= n
                ]
            )
            pa, pb = _padded(
                lambda c0, c1, c2: tuple(
                    bounds.simultaneous_bounds(np.stack([c0, c1, c2], -1), alpha=alpha, top=0)[:2]
                ),
                c[:, 0],
                c[:, 1],
                c[:, 2],
            )
            for pv in ps:
                p = [mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in pv]
                cov = mpmath.mpf(0)
                for row, lo, hi in zip(c, pa, pb, strict=True):
                    if lo <= p[0] and hi >= max(p[1], p[2]):
                        i, j, m = (int(v) for v in row)
                        cov += (
                            mpmath.factorial(n)
                            / (mpmath.factorial(i) * mpmath.factorial(j) * mpmath.factorial(m))
                            * p[0] ** i
                            * p[1] ** j
                            * p[2] ** m
                        )
                margin = float(cov - (1 - mpmath.mpf(alpha)))
                if margin < worst:
                    worst, at = margin, f"n={n}, p={pv}"
    return CheckResult(worst >= 0, -worst, 0.0, f"min coverage - (1 - alpha) = {worst:.3g} at {at}")
