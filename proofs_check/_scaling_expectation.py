"""``scaling.exact_expectation``: rstheory's exact expected radius, certified accuracy and
abstention rate against the mpmath reference of :mod:`proofs_check._scaling_mp`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import mpmath

from proofs_check._registry import CheckResult, theorem
from proofs_check._scaling_common import (
    ALPHA,
    f64,
    rstheory_scaling,
)
from proofs_check._scaling_mp import (
    default_dists,
    expectation_mp,
    radius_table_mp,
)

__all__ = [
    "ATOL_EXPECTATION",
    "EXPECTATION_NS",
    "EXPECTATION_SIGMA",
    "check_expectation_numeric",
]

# Exact expectations, absolute, in units of sigma (radius) or of probability. rstheory's
# Clopper-Pearson contract is 1e-10 relative; a radius moves by L / phi(Phi^-1(L)) <= 16
# times that for n <= 250 (L <= 0.973), so a bound meeting its contract may move E[R] by
# 1.6e-9. The distribution's Gauss rule (64 nodes) integrates the degree-(n + a + b)
# polynomial integrand to ~1e-15 at these n (measured: worst 1e-15), so 2e-9 is the contract.
ATOL_EXPECTATION = 2e-9

EXPECTATION_NS = (1, 10, 25, 100, 250)

EXPECTATION_SIGMA = 0.5


def _thresholds(table, sigma) -> list:
    """Radius thresholds for the accuracy check: 0 (certified) and midpoints between
    consecutive distinct radii of the mpmath table, a third and two thirds up, so that no
    radius lies near a threshold."""
    values = sorted(set(table))
    mids = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    if not mids:
        return [0.0, 0.5 * sigma]
    picks = sorted({mids[len(mids) // 3], mids[(2 * len(mids)) // 3]})
    return [0.0, *(float(m) for m in picks)]


@theorem(
    "scaling.exact_expectation",
    statement="E[R_n] = E_p sum_{k=0}^n C(n,k) p^k (1-p)^(n-k) sigma Phi^-1(L(k,n)) "
    "1{L(k,n) > 1/2} (abstain counts as 0), the certified accuracy Pr[L > 1/2, R_n >= r] "
    "and the abstention rate Pr[L <= 1/2], exactly (no CLT), for p drawn from a law with "
    "atoms and a density.",
    source="Cohen, Rosenfeld & Kolter (2019), Thm 1 and CERTIFY; the exact sum derived for this "
    "project",
)
def check_expectation_numeric(
    dps: int = 50,
    *,
    dists=None,
    ns=EXPECTATION_NS,
    alpha: float = ALPHA,
    sigma: float = EXPECTATION_SIGMA,
    atol: float = ATOL_EXPECTATION,
    expected_radius: Callable | None = None,
    certified_accuracy: Callable | None = None,
    abstain_rate: Callable | None = None,
    quad: bool = False,
) -> CheckResult:
    """rstheory's exact expectations against an mpmath computation that shares no code.

    For each law in ``dists`` (default :func:`default_dists`) and ``n`` in ``ns``:
    ``expected_radius / sigma``, ``abstain_rate`` and ``certified_accuracy`` at radius 0
    and at two thresholds between the radii of the table, against :func:`expectation_mp`;
    absolute errors (radius in units of ``sigma``). The expectation over ``p`` is in closed
    form (beta-binomial moments), or with ``quad=True`` by ``mpmath.quad`` over ``p`` of
    the full sum (slower; the two routes agree to the working precision). The error then
    also measures rstheory's discretization of the law (a 64-node Gauss rule).

    Example:
      >>> from rstheory.distributions import PointMass
      >>> from proofs_check._scaling_mp import MpDist
      >>> one = [(PointMass(0.9), MpDist(atoms=((0.9, 1),), name="PM"))]
      >>> r = check_expectation_numeric(20, dists=one, ns=(10,))
      >>> r.passed
      True
    """
    expected_radius = expected_radius or rstheory_scaling("expected_radius")
    certified_accuracy = certified_accuracy or rstheory_scaling("certified_accuracy")
    abstain_rate = abstain_rate or rstheory_scaling("abstain_rate")
    dists = default_dists() if dists is None else dists
    worst, worst_at, count, tables = 0.0, "", 0, {}
    with mpmath.workdps(dps):
        for dist, mp_dist in dists:
            radii_got = f64(expected_radius(dist, list(ns), alpha=alpha, sigma=sigma))
            abstain_got = f64(abstain_rate(dist, list(ns), alpha=alpha))
            for i, n in enumerate(ns):
                if n not in tables:  # shared by the laws
                    tables[n] = radius_table_mp(n, alpha, sigma)
                radii = _thresholds(tables[n][1], sigma)
                ref_r, ref_ab, ref_acc = expectation_mp(
                    mp_dist, n, alpha, sigma, radii, tables[n], quad=quad
                )
                acc_got = f64(certified_accuracy(dist, n, radius=radii, alpha=alpha, sigma=sigma))
                cases = [
                    ("E[R]/sigma", radii_got[i] / sigma, ref_r / sigma),
                    ("abstain", abstain_got[i], ref_ab),
                ]
                cases += [
                    (f"acc(r={r:.4g})", g, ref)
                    for r, g, ref in zip(radii, acc_got, ref_acc, strict=True)
                ]
                for what, got, ref in cases:
                    count += 1
                    err = math.inf
                    if math.isfinite(got):
                        err = float(abs(mpmath.mpf(float(got)) - ref))
                    if not err <= worst:
                        worst, worst_at = (
                            (math.inf if math.isnan(err) else err),
                            f"{what}, {mp_dist.name}, n={n}",
                        )
    route = "mpmath.quad over p" if quad else "closed-form E_p[pmf]"
    detail = (
        f"E[R_n], abstain rate, certified accuracy vs mpmath (CP roots, full sum over k, "
        f"{route}), n in {list(ns)}, alpha={alpha:g}, sigma={sigma:g}: {count} values, "
        f"worst absolute {worst:.2e} at {worst_at}"
    )
    return CheckResult(worst <= atol, worst, atol, detail)
