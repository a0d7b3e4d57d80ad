r"""Cohen et al.'s (2019) PREDICT: its guarantee, its p-value and its abstention bound, exactly.

Registered theorems:

``predict.cohen2019_prop1``
  PREDICT (Cohen, Rosenfeld & Kolter 2019, Sec. 3.2; :func:`rstheory.predict.decide`)
  returns a class other than the most probable one, ``A``, with probability ``<= alpha``,
  for any ``n`` and any number of classes (their Proposition 1, from Hung & Fithian 2019).
  Why the two-class tie is the worst two-class case, and why more classes do not help the
  wrong class: returning ``c != A`` needs ``p(x_c, s) <= alpha`` with the second count
  ``s >= x_A``, and the p-value grows with the second count, so the pairwise test of
  ``x_c`` against ``x_A`` passes too; given ``x_c + x_A = m``, ``x_c ~ Bin(m, q)`` with
  ``q = p_c / (p_c + p_A) < 1/2``, and a binomial tail grows with ``q``. The symbolic check
  verifies those two monotonicities (sympy, exact rationals); the numeric check sums the
  exact probability of a wrong return (mpmath; every count vector of the multinomial,
  :mod:`proofs_check._predict_mp`) under rstheory's decisions on a grid of
  ``(p, n, alpha)``: two classes up to ``n = 10^4`` with ``p_A`` down to ``1/2 + 10^-9``,
  three and four classes at near-ties. A plain majority vote fails it.
``predict.p_value``
  rstheory's p-value (:func:`rstheory.predict.p_value`, the incomplete beta in float64)
  equals the exact two-sided binomial tail (sums of binomial coefficients for ``m <= 400``,
  mpmath's summed tail up to ``m = 10^6``), and :func:`rstheory.predict.decide` abstains
  exactly when that exact p-value exceeds ``alpha``.
``predict.abstention_bound``
  For the top-class probability ``p_A`` alone, ``P[abstain] + P[wrong] <=
  P[Bin(n, p_A) < k*(n)]`` (:func:`rstheory.predict.abstention_bound`), whatever the split
  of the remaining mass, with equality for two classes; and the exact three-class rates
  of :func:`rstheory.predict.predict_rates`. Both against the exact multinomial sums.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from proofs_check._binomial_mp import pmf_vector
from proofs_check._predict_mp import (
    decide_rule,
    enumerate_rates,
    exact_p_value,
    mp_prob,
    rule_tables,
    two_class_rates,
)
from proofs_check._registry import (
    CheckResult,
    combine,
    max_relative_error,
    max_scaled_error,
    symbolic_result,
    theorem,
)
from rstheory import predict

__all__ = [
    "ALPHAS",
    "MULTI_CLASS",
    "RTOL_BOUND",
    "RTOL_P_VALUE",
    "check_abstention_bound",
    "check_guarantee",
    "check_p_value",
    "derive_monotonicity",
]

ALPHAS = (0.1, 0.05, 0.01, 0.001)
_EPS = Fraction(1, 10**9)
TWO_CLASS_P = (Fraction(1, 2) + _EPS, Fraction(51, 100), Fraction(3, 5), Fraction(9, 10))
TWO_CLASS_N = (*range(1, 61), 100, 333, 1000, 10_000)
# (p_A first, then the other classes): near-ties, where a wrong class wins most often.
MULTI_CLASS = (
    (Fraction(1, 3) + 2 * _EPS, Fraction(1, 3) - _EPS, Fraction(1, 3) - _EPS),
    (Fraction(2, 5), Fraction(2, 5) - _EPS, Fraction(1, 5) + _EPS),
    (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)),
    (
        Fraction(1, 4) + 3 * _EPS,
        Fraction(1, 4) - _EPS,
        Fraction(1, 4) - _EPS,
        Fraction(1, 4) - _EPS,
    ),
    (Fraction(3, 10), Fraction(3, 10) - _EPS, Fraction(1, 5), Fraction(1, 5) + _EPS),
)
MULTI_N = {3: (5, 10, 20, 30), 4: (6, 12, 18)}
# Measured: the float64 incomplete beta is within 3e-13 of the exact tail for m <= 120 and
# within 1.4e-9 at m = 10^6 (its continued fraction loses digits as a = m/2 grows).
RTOL_P_VALUE = 1e-8
P_VALUE_LARGE_M = (1000, 10_000, 100_000, 1_000_000)
P_VALUE_Z = (0.5, 2.0, 3.3, 4.0, 6.0, 10.0)
# abstention_bound is one float64 binomial CDF (scipy): a few ulps, plus the exact rates'
# own float64 sums in predict_rates (their module: absolute error below 4e-20 + rounding).
RTOL_BOUND = 1e-10
ATOL_RATES = 1e-12
BOUND_P = (
    Fraction(1, 2) + _EPS,
    Fraction(11, 20),
    Fraction(7, 10),
    Fraction(9, 10),
    Fraction(2, 5),
)
BOUND_N = {2: (10, 25, 40, 1000), 3: (10, 25, 40), 4: (10, 20)}
BOUND_ALPHAS = (0.05, 0.001)


def _split(p_a: Fraction, k: int) -> tuple[Fraction, ...]:
    """``p_A`` and the rest split over ``k - 1`` classes in the ratio ``k-1 : k-2 : ... : 1``."""
    w = list(range(k - 1, 0, -1))
    return (p_a, *((1 - p_a) * Fraction(x, sum(w)) for x in w))


def _rstheory_rule(alpha: float):
    """The rule ``(t, s) -> returns`` of :func:`rstheory.predict.decide` at ``alpha``."""
    return decide_rule(predict.decide, alpha=alpha)


def _where(probs, n: int, alpha: float) -> str:
    """The label of one case of a grid: the class probabilities (4 digits), ``n``, ``alpha``."""
    return f"p={[round(float(x), 4) for x in probs]}, n={n}, alpha={alpha}"


def _exact_rates_grid(make, alphas, cases):
    """The exact rates of the rule ``make(alpha)`` at every case of a grid, under the caller's
    mpmath precision.

    For each ``alpha`` of ``alphas`` (outer) and each ``(probs, n)`` of ``cases`` (exact
    class probabilities, ``probs[0]`` the top class ``A``, and a number of samples; in their
    order): ``(alpha, probs, n, rates)``, the rates of
    :func:`~proofs_check._predict_mp.two_class_rates` for two classes (a sum over
    ``Bin(n, p_A)``, its pmf computed once for all ``alpha``) and of
    :func:`~proofs_check._predict_mp.enumerate_rates` for more (every count vector). The
    rule's decisions are tabulated once per ``alpha`` (:func:`rule_tables`), up to the
    largest ``n`` of more than two classes.
    """
    cases = list(cases)
    n_full = max((n for probs, n in cases if len(probs) > 2), default=0)
    two_class_n = tuple(dict.fromkeys(n for probs, n in cases if len(probs) == 2))
    pmfs = {}
    for alpha in alphas:
        table, two = rule_tables(make(alpha), n_full=n_full, two_class_n=two_class_n)
        for probs, n in cases:
            if len(probs) == 2:
                key = (n, probs[0])
                if key not in pmfs:
                    pmfs[key] = pmf_vector(n, mp_prob(probs[0]))
                rates = two_class_rates(mp_prob(probs[0]), n, two[n], pmf=pmfs[key])
            else:
                rates = enumerate_rates([mp_prob(x) for x in probs], n, table)
            yield alpha, probs, n, rates


def derive_monotonicity(*, m_max: int = 8) -> CheckResult:
    r"""The two monotonicities behind the worst cases, on exact instances (sympy).

    1. ``d/dq P[Bin(m, q) >= k] = m C(m-1, k-1) q^(k-1) (1-q)^(m-k) > 0``: a tail grows with
       ``q``, so the two-class wrong rate is largest as ``p_B -> 1/2``.
    2. ``P[Bin(m+1, 1/2) >= k] - P[Bin(m, 1/2) >= k] = C(m, k-1) / 2^(m+1) > 0``: the
       p-value ``2 P[Bin(t+s, 1/2) >= t]`` grows with the second count ``s``.
    3. ``C(m, j) = C(m, m - j)``: the two-sided tail is twice the upper one.
    """
    q = sp.Symbol("q", positive=True)
    m_s, j_s = sp.symbols("m j", integer=True, nonnegative=True)
    steps = []
    ok1 = all(
        sp.expand(
            sp.diff(sum(sp.binomial(m, j) * q**j * (1 - q) ** (m - j) for j in range(k, m + 1)), q)
            - m * sp.binomial(m - 1, k - 1) * q ** (k - 1) * (1 - q) ** (m - k)
        )
        == 0
        for m in range(1, m_max + 1)
        for k in range(1, m + 1)
    )
    steps.append((f"d/dq P[Bin(m,q) >= k] = m C(m-1,k-1) q^(k-1) (1-q)^(m-k), m <= {m_max}", ok1))
    half = sp.Rational(1, 2)

    def tail(m, k):
        return sum(sp.binomial(m, j) for j in range(k, m + 1)) * half**m

    ok2 = all(
        tail(m + 1, k) - tail(m, k) == sp.binomial(m, k - 1) * half ** (m + 1)
        for m in range(0, 4 * m_max)
        for k in range(1, m + 2)
    )
    steps.append(
        (f"P[Bin(m+1,1/2) >= k] - P[Bin(m,1/2) >= k] = C(m,k-1)/2^(m+1), m < {4 * m_max}", ok2)
    )
    sym = sp.simplify(sp.combsimp(sp.binomial(m_s, j_s) - sp.binomial(m_s, m_s - j_s))) == 0
    steps.append(("C(m, j) = C(m, m - j)", sym))
    return symbolic_result(steps)


@theorem(
    "predict.cohen2019_prop1",
    statement="PREDICT (return the top class when the two-sided binomial test of its count against "
    "Bin(n_top + n_second, 1/2) has p-value <= alpha, else abstain) returns a class other than "
    "the most probable one with probability <= alpha, for any n and any number of classes.",
    source="Cohen, Rosenfeld & Kolter (2019), ICML, Sec. 3.2, Proposition 1; Hung & Fithian "
    "(2019), Ann. Statist. 47(2), 'Rank verification for exponential families'",
    symbolic=derive_monotonicity,
)
def check_guarantee(
    dps: int = 30,
    *,
    rule=None,
    alphas=ALPHAS,
    two_class_p=TWO_CLASS_P,
    two_class_n=TWO_CLASS_N,
    multi_class=MULTI_CLASS,
    multi_n=None,
) -> CheckResult:
    """Largest exact ``P[return a class != A] / alpha`` over the grid (must be ``<= 1``).

    Args:
      dps: mpmath digits.
      rule: ``alpha -> ((t, s) -> returns)``; default rstheory's
        :func:`~rstheory.predict.decide` (so a wrong rule can be shown to fail).
      alphas, two_class_p, two_class_n, multi_class, multi_n: the grid (module constants).
    """
    make = rule or _rstheory_rule
    multi_n = MULTI_N if multi_n is None else multi_n
    grid = [((p, 1 - p), n) for n in two_class_n for p in two_class_p]
    grid += [(probs, n) for probs in multi_class for n in multi_n[len(probs)]]
    worst = {"two classes": (0.0, ""), "more classes": (0.0, "")}
    cases = 0
    with mpmath.workdps(dps):
        for alpha, probs, n, rates in _exact_rates_grid(make, alphas, grid):
            cases += 1
            if len(probs) == 2:
                family, where = "two classes", f"p_A={float(probs[0])!r}, n={n}, alpha={alpha}"
            else:
                family, where = "more classes", _where(probs, n, alpha)
            ratio = float(rates.wrong / alpha)
            if ratio > worst[family][0]:
                worst[family] = (ratio, where)
    top = max(r for r, _ in worst.values())
    detail = f"max P[wrong]/alpha over {cases} (p, n, alpha): " + "; ".join(
        f"{family} {r:.4g} at {where}" for family, (r, where) in worst.items()
    )
    return CheckResult(top <= 1.0, top, 1.0, detail)


def _p_value_pairs(m_max: int = 120):
    pairs = [(t, m - t) for m in range(1, m_max + 1) for t in range((m + 1) // 2, m + 1)]
    for m in P_VALUE_LARGE_M:
        pairs += [(int(m / 2 + z * m**0.5 / 2), m - int(m / 2 + z * m**0.5 / 2)) for z in P_VALUE_Z]
    return pairs


@theorem(
    "predict.p_value",
    statement="PREDICT's p-value min(1, 2 I_{1/2}(n_A, n_B + 1)) equals the exact two-sided "
    "binomial tail sum of Bin(n_A + n_B, 1/2); the rule abstains exactly when it exceeds alpha.",
    source="Cohen, Rosenfeld & Kolter (2019), ICML, Sec. 3.2 (BinomPValue); the incomplete beta "
    "form of the binomial tail, Abramowitz & Stegun (1964), 26.5.24",
)
def check_p_value(
    dps: int = 30,
    *,
    p_value=predict.p_value,
    decide=predict.decide,
    alphas=ALPHAS,
    rtol=RTOL_P_VALUE,
) -> CheckResult:
    """rstheory's p-value against the exact tail, and its decisions against the exact ones.

    A decision that disagrees with the exact p-value counts only where that p-value is
    more than ``rtol`` away from ``alpha`` (closer, float64 cannot settle it).
    """
    pairs = _p_value_pairs()
    a = np.array([t for t, _ in pairs])
    b = np.array([s for _, s in pairs])
    values = np.asarray(p_value(a, b), dtype=np.float64)
    with mpmath.workdps(dps):
        exact = [exact_p_value(t, s) for t, s in pairs]
        value_part = max_relative_error(
            [(f"({t}, {s})", v, e) for (t, s), v, e in zip(pairs, values, exact, strict=True)],
            tolerance=rtol,
            what="p-value vs exact two-sided tail",
        )
        wrong = []
        for alpha in alphas:
            abstain = np.asarray(decide(a, b, alpha=alpha).abstain, dtype=bool)
            for (t, s), ab, e in zip(pairs, abstain, exact, strict=True):
                clear = abs(e - alpha) > rtol * alpha
                if clear and bool(ab) != bool(e > alpha):
                    wrong.append(f"({t}, {s}) at alpha={alpha}")
    decision_part = CheckResult(
        not wrong,
        0.0 if not wrong else float("inf"),
        0.0,
        f"decisions vs exact p-value: {len(pairs) * len(alphas)} cases, "
        + (f"{len(wrong)} disagree, first {wrong[0]}" if wrong else "all agree"),
    )
    return combine([value_part, decision_part], tolerance=rtol)


@theorem(
    "predict.abstention_bound",
    statement="For the top-class probability p_A alone, P[abstain] + P[wrong] <= P[Bin(n, p_A) < "
    "k*(n)] whatever the split of the remaining mass (the second count is at most n - n_A), with "
    "equality for two classes; and the exact three-class abstention and error rates.",
    source="Cohen, Rosenfeld & Kolter (2019), ICML, Sec. 3.2; the derivation in "
    "rstheory._predict_rates (second count at most n - n_A, p-value increasing in it)",
)
def check_abstention_bound(
    dps: int = 30,
    *,
    abstention_bound=None,
    predict_rates=None,
    p_grid=BOUND_P,
    n_grid=None,
    alphas=BOUND_ALPHAS,
) -> CheckResult:
    """The bound above the exact ``P[abstain] + P[wrong]`` for 2, 3 and 4 classes (equal for
    2), and ``predict_rates`` equal to the exact three-class rates; rstheory's functions by
    default, replaceable so a wrong one can be shown to fail."""
    bound_fn = abstention_bound or predict.abstention_bound
    rates_fn = predict_rates or predict.predict_rates
    n_grid = BOUND_N if n_grid is None else n_grid
    grid = [(_split(p_a, k), n) for k, ns in n_grid.items() for n in ns for p_a in p_grid]
    below, equal, rates_cases = [], [], []
    with mpmath.workdps(dps):
        for alpha, probs, n, exact in _exact_rates_grid(_rstheory_rule, alphas, grid):
            label = _where(probs, n, alpha)
            bound = float(np.asarray(bound_fn(float(probs[0]), n, alpha=alpha)))
            miss = exact.abstain + exact.wrong
            # bound >= miss: the shortfall relative to miss (0 when above).
            short = max(mpmath.mpf(0), miss - mpmath.mpf(bound))
            below.append((label, float(short), mpmath.mpf(0), max(miss, mpmath.mpf(10) ** -300)))
            if len(probs) == 2:
                equal.append((label, bound, miss))
            if len(probs) == 3 and probs[1] <= probs[0]:
                got = rates_fn(float(probs[0]), float(probs[1]), n, alpha=alpha)
                for name in ("abstain", "correct", "wrong"):
                    ref = getattr(exact, name)
                    rates_cases.append(
                        (f"{name} {label}", float(np.asarray(getattr(got, name))), ref, 1)
                    )
        parts = [
            max_scaled_error(
                below,
                tolerance=RTOL_BOUND,
                what="bound >= exact P[abstain] + P[wrong] (shortfall / exact)",
            ),
            max_relative_error(
                equal, tolerance=RTOL_BOUND, what="two classes: bound = exact P[abstain] + P[wrong]"
            ),
            max_scaled_error(
                rates_cases,
                tolerance=ATOL_RATES,
                what="predict_rates vs exact three-class rates (absolute)",
            ),
        ]
    worst = max(p.max_error / p.tolerance for p in parts)
    detail = "; ".join(p.detail for p in parts) + " (error: the worst fraction of a tolerance)"
    return CheckResult(all(p.passed for p in parts), worst, 1.0, detail)
