"""Tests of rstheory._clopper_pearson: cp_lower, cp_upper, cp_interval.

The accuracy target is a relative error of at most ``RTOL_CP_REFERENCE`` for
``0 <= k <= n``, ``1 <= n <= 1e8``, ``1e-15 <= alpha <= 0.5``, ends included, for both
sides. ``tests/reference/cp_reference.json`` (made by ``make_reference.py`` in the same
folder, 50-digit mpmath roots of the binomial tail) is the oracle; scipy, statsmodels,
exact binomial sums and simulation are independent routes for the properties.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

import rstheory
from tests.tolerances import (
    MC_FALSE_FAILURE_RATE,
    RTOL_CP_REFERENCE,
    RTOL_CP_VS_SCIPY,
    RTOL_F64_CLOSED_FORM,
    RTOL_PMF_SUM,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "cp_reference.json"
EPS = np.finfo(np.float64).eps
N_MAX = 10**8
ALPHA_MIN, ALPHA_MAX = 1e-15, 0.5


# ------------------------------------------------------------------ strategies


@st.composite
def counts(draw, n_max: int = N_MAX):
    """(k, n): n log-uniform in [1, n_max], k uniform in [0, n] with extra weight on the ends."""
    n = max(1, round(10 ** draw(st.floats(0, math.log10(n_max)))))
    k = draw(st.one_of(st.sampled_from([0, 1, n - 1, n]), st.integers(0, n)))
    return min(max(k, 0), n), n


alphas = st.floats(math.log10(ALPHA_MIN), math.log10(ALPHA_MAX)).map(
    lambda e: min(10.0**e, ALPHA_MAX)
)


def _f(x) -> float:
    return float(np.asarray(x))


# ------------------------------------------------------------------ (a) reference table


def _load_reference():
    data = json.loads(REFERENCE.read_text())
    return data["header"], data["cases"]


def test_reference_file_covers_the_grid():
    """The committed table has every grid case on both sides, with a known method."""
    header, cases = _load_reference()
    grid = header["grid"]
    keys = {(c["k"], c["n"], c["alpha"], c["side"]) for c in cases}
    assert len(keys) == len(cases), "duplicate cases in the reference table"
    for n in grid["n"]:
        ks = {0, 1, 2, 3, n // 100, n // 10, n // 2, 9 * n // 10, n - 2, n - 1, n}
        for k in (k for k in ks if 0 <= k <= n):
            for a in grid["alpha"]:
                for side in ("lower", "upper"):
                    assert (k, n, a, side) in keys
    assert {c["method"] for c in cases} <= {"mpmath50", "closed-form", "scipy-boost"}
    assert all(
        len(c["value"].split("e")[0].replace(".", "").lstrip("0")) >= 25
        for c in cases
        if c["value"] not in ("0", "1")
    )


@pytest.mark.parametrize("side", ["lower", "upper"])
def test_cp_matches_50_digit_reference(side):
    """Every tabulated bound has relative error <= RTOL_CP_REFERENCE (exact at 0 and 1)."""
    _, cases = _load_reference()
    cases = [c for c in cases if c["side"] == side]
    k = np.array([c["k"] for c in cases], dtype=np.int64)
    n = np.array([c["n"] for c in cases], dtype=np.int64)
    alpha = np.array([float(c["alpha"]) for c in cases])
    ref = np.array([float(Decimal(c["value"])) for c in cases])
    fn = rstheory.cp_lower if side == "lower" else rstheory.cp_upper
    got = np.asarray(fn(k, n, alpha=alpha))  # one call for the whole side
    assert got.shape == ref.shape
    # Where the reference is exactly 0 or 1, the bound must be exactly that.
    exact = (ref == 0) | (ref == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(exact, np.where(got == ref, 0.0, np.inf), np.abs(got - ref) / np.abs(ref))
    rel = np.where(np.isnan(rel), np.inf, rel)
    bad = rel > RTOL_CP_REFERENCE
    i = int(np.argmax(rel))
    c = cases[i]
    assert not bad.any(), (
        f"{int(bad.sum())} of {len(cases)} {side} bounds exceed rtol {RTOL_CP_REFERENCE:g}; worst: "
        f"k={c['k']} n={c['n']} alpha={c['alpha']} ({c['method']}): got {got[i]!r}, "
        f"reference {c['value']}, relative error {rel[i]:.3g}"
    )


# ------------------------------------------------------------------ (b) properties


@given(counts(), alphas)
def test_cp_bounds_are_nondecreasing_in_k(kn, alpha):
    """L(k, n) <= L(k + 1, n) and U(k, n) <= U(k + 1, n).

    No tolerance: the true gap is at least about 1/n >= 1e-8 relative, far above the
    accuracy target, so any inversion is a defect.
    """
    k, n = kn
    assume(k < n)
    ks = np.array([k, k + 1])
    lo = np.asarray(rstheory.cp_lower(ks, n, alpha=alpha))
    hi = np.asarray(rstheory.cp_upper(ks, n, alpha=alpha))
    assert lo[0] <= lo[1], (k, n, alpha, lo)
    assert hi[0] <= hi[1], (k, n, alpha, hi)


@given(counts(n_max=N_MAX - 1), alphas)
def test_cp_bounds_are_nonincreasing_in_n(kn, alpha):
    """L(k, n + 1) <= L(k, n) and U(k, n + 1) <= U(k, n): more failures, smaller bounds."""
    k, n = kn
    ns = np.array([n, n + 1])
    lo = np.asarray(rstheory.cp_lower(k, ns, alpha=alpha))
    hi = np.asarray(rstheory.cp_upper(k, ns, alpha=alpha))
    assert lo[1] <= lo[0], (k, n, alpha, lo)
    assert hi[1] <= hi[0], (k, n, alpha, hi)


@given(counts(), alphas, alphas)
def test_cp_lower_increases_and_upper_decreases_with_alpha(kn, a1, a2):
    """alpha1 < alpha2 gives L(alpha1) <= L(alpha2) and U(alpha1) >= U(alpha2).

    Up to 2 * RTOL_CP_REFERENCE: two close alphas (at k = n the bound moves like
    alpha**(1/n)) can give a true gap below the accuracy target.
    """
    k, n = kn
    a1, a2 = sorted((a1, a2))
    alpha = np.array([a1, a2])
    lo = np.asarray(rstheory.cp_lower(k, n, alpha=alpha))
    hi = np.asarray(rstheory.cp_upper(k, n, alpha=alpha))
    assert lo[0] <= lo[1] * (1 + 2 * RTOL_CP_REFERENCE), (k, n, alpha, lo)
    assert hi[1] <= hi[0] * (1 + 2 * RTOL_CP_REFERENCE), (k, n, alpha, hi)


@given(counts(), alphas)
def test_cp_lower_le_k_over_n_le_upper(kn, alpha):
    """L <= k/n <= U for alpha <= 1/2 (k is a median of Bin(n, k/n)); both in [0, 1]."""
    k, n = kn
    lo, hi = _f(rstheory.cp_lower(k, n, alpha=alpha)), _f(rstheory.cp_upper(k, n, alpha=alpha))
    assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, alpha, lo, hi)


@given(counts(), alphas)
def test_one_sided_bound_equals_two_sided_interval_at_twice_alpha(kn, alpha):
    """cp_lower(k, n, a) == cp_interval(k, n, 2a).low and cp_upper(...) == .high, bit for bit."""
    k, n = kn
    assume(2 * alpha < 1)
    ci = rstheory.cp_interval(k, n, alpha=2 * alpha)
    assert isinstance(ci, rstheory.ConfidenceInterval)
    assert _f(ci.low) == _f(rstheory.cp_lower(k, n, alpha=alpha))
    assert _f(ci.high) == _f(rstheory.cp_upper(k, n, alpha=alpha))


@given(counts(), alphas)
def test_cp_upper_is_one_minus_lower_of_complement(kn, alpha):
    """U(k, n) = 1 - L(n - k, n), checked with the tolerance the subtraction allows.

    With |dU| <= r U and |dL| <= r L (r = RTOL_CP_REFERENCE) and one rounding in 1 - L,
    |U - (1 - L)| <= r (U + L) + 2 eps; the check is strict where U is not small and
    only loose where 1 - L cancels (the reference table covers that region).
    """
    k, n = kn
    hi = _f(rstheory.cp_upper(k, n, alpha=alpha))
    lo = _f(rstheory.cp_lower(n - k, n, alpha=alpha))
    assert abs(hi - (1.0 - lo)) <= RTOL_CP_REFERENCE * (hi + lo) + 2 * EPS, (k, n, alpha, hi, lo)


@given(st.integers(1, N_MAX), alphas)
def test_cp_ends_are_closed_forms(n, alpha):
    """k = 0: L = 0 exactly, U = 1 - alpha**(1/n); k = n: L = alpha**(1/n), U = 1 exactly."""
    root = math.exp(math.log(alpha) / n)
    one_minus_root = -math.expm1(math.log(alpha) / n)  # 1 - alpha**(1/n) without cancellation
    assert _f(rstheory.cp_lower(0, n, alpha=alpha)) == 0.0
    assert _f(rstheory.cp_upper(n, n, alpha=alpha)) == 1.0
    np.testing.assert_allclose(
        _f(rstheory.cp_lower(n, n, alpha=alpha)), root, rtol=RTOL_F64_CLOSED_FORM, atol=0
    )
    np.testing.assert_allclose(
        _f(rstheory.cp_upper(0, n, alpha=alpha)), one_minus_root, rtol=RTOL_F64_CLOSED_FORM, atol=0
    )


@given(st.integers(2, N_MAX), alphas)
def test_cp_next_to_ends_are_closed_forms(n, alpha):
    """k = 1: L = 1 - (1 - alpha)**(1/n); k = n - 1: U = (1 - alpha)**(1/n) (interior: target
    rtol)."""
    x = math.log1p(-alpha) / n
    np.testing.assert_allclose(
        _f(rstheory.cp_lower(1, n, alpha=alpha)), -math.expm1(x), rtol=RTOL_CP_REFERENCE, atol=0
    )
    np.testing.assert_allclose(
        _f(rstheory.cp_upper(n - 1, n, alpha=alpha)), math.exp(x), rtol=RTOL_CP_REFERENCE, atol=0
    )


def test_cp_at_n_equal_1():
    """n = 1: L(0) = 0, L(1) = alpha, U(0) = 1 - alpha, U(1) = 1."""
    alpha = np.array([1e-15, 1e-3, 0.05, 0.5])
    np.testing.assert_array_equal(np.asarray(rstheory.cp_lower(0, 1, alpha=alpha)), 0.0)
    np.testing.assert_allclose(
        np.asarray(rstheory.cp_lower(1, 1, alpha=alpha)), alpha, rtol=RTOL_F64_CLOSED_FORM, atol=0
    )
    np.testing.assert_allclose(
        np.asarray(rstheory.cp_upper(0, 1, alpha=alpha)),
        1 - alpha,
        rtol=RTOL_F64_CLOSED_FORM,
        atol=0,
    )
    np.testing.assert_array_equal(np.asarray(rstheory.cp_upper(1, 1, alpha=alpha)), 1.0)


@given(counts(n_max=10**5), alphas)
def test_cp_bounds_invert_the_binomial_tail(kn, alpha):
    """P[Bin(n, L) >= k] = alpha and P[Bin(n, U) <= k] = alpha (scipy.stats.binom).

    A relative error r in the bound moves the tail by r times its log-derivative in log p:
    s = k pmf(k; n, L) / alpha for the lower bound, s = (n - k) pmf(k; n, U) U / ((1 - U) alpha)
    for the upper one. The tolerance is (RTOL_CP_REFERENCE + eps) (1 + s) (the bound's error
    plus its float64 rounding) plus scipy's own error (RTOL_CP_VS_SCIPY).
    """
    k, n = kn
    lo, hi = _f(rstheory.cp_lower(k, n, alpha=alpha)), _f(rstheory.cp_upper(k, n, alpha=alpha))
    r = RTOL_CP_REFERENCE + EPS
    if k > 0:
        tail = scipy.stats.binom.sf(k - 1, n, lo)
        s = k * scipy.stats.binom.pmf(k, n, lo) / alpha
        assert abs(tail / alpha - 1) <= r * (1 + s) + RTOL_CP_VS_SCIPY, (k, n, alpha, lo)
    if k < n and hi < 1:  # U = 1 - 1e-16 may round to 1.0, within tolerance; nothing to invert
        tail = scipy.stats.binom.cdf(k, n, hi)
        s = (n - k) * scipy.stats.binom.pmf(k, n, hi) * hi / ((1 - hi) * alpha)
        assert abs(tail / alpha - 1) <= r * (1 + s) + RTOL_CP_VS_SCIPY, (k, n, alpha, hi)


# ------------------------------------------------------------------ (c) scipy and statsmodels


def _random_batch(seed: int, size: int, n_max: int):
    rng = np.random.default_rng(seed)
    n = np.maximum(1, np.round(10 ** rng.uniform(0, np.log10(n_max), size))).astype(np.int64)
    k = rng.integers(0, n + 1)
    alpha = 10 ** rng.uniform(np.log10(ALPHA_MIN), np.log10(ALPHA_MAX), size)
    return k, n, alpha


def _assert_rel_close(got, want, what, k, n, alpha, rtol):
    rel = np.abs(got - want) / np.abs(want)
    i = int(np.argmax(rel))
    assert rel[i] <= rtol, (
        f"{what}: worst relative difference {rel[i]:.3g} > {rtol:g} at k={k[i]} n={n[i]} "
        f"alpha={alpha[i]!r}: got {got[i]!r}, reference {want[i]!r}"
    )


# scipy (Boost ibeta_inv) is within 1e-14 of the 50-digit reference for the lower bound
# everywhere in the table, and for the upper bound where it is not small; beta.isf loses
# accuracy for tiny upper bounds at large n (2.4e-10 at k = 1, n = 1e8, see the table's
# header), so the upper comparison keeps n <= 1e5.
SCIPY_NMAX = 10**5


def test_cp_agrees_with_scipy_beta_quantiles():
    """cp_lower = beta.ppf(alpha, k, n-k+1), cp_upper = beta.isf(alpha, k+1, n-k), random batch."""
    k, n, alpha = _random_batch(seed=20240601, size=4000, n_max=SCIPY_NMAX)
    lo, hi = (
        np.asarray(rstheory.cp_lower(k, n, alpha=alpha)),
        np.asarray(rstheory.cp_upper(k, n, alpha=alpha)),
    )
    m = k > 0
    _assert_rel_close(
        lo[m],
        scipy.stats.beta.ppf(alpha[m], k[m], n[m] - k[m] + 1),
        "lower vs beta.ppf",
        k[m],
        n[m],
        alpha[m],
        RTOL_CP_VS_SCIPY,
    )
    m = k < n
    _assert_rel_close(
        hi[m],
        scipy.stats.beta.isf(alpha[m], k[m] + 1, n[m] - k[m]),
        "upper vs beta.isf",
        k[m],
        n[m],
        alpha[m],
        RTOL_CP_VS_SCIPY,
    )
    assert (lo[k == 0] == 0).all() and (hi[k == n] == 1).all()


def test_cp_lower_agrees_with_scipy_at_large_n():
    """The lower bound against beta.ppf for n up to 1e8 (scipy's lower bound stays accurate)."""
    k, n, alpha = _random_batch(seed=7, size=2000, n_max=N_MAX)
    m = k > 0
    k, n, alpha = k[m], n[m], alpha[m]
    lo = np.asarray(rstheory.cp_lower(k, n, alpha=alpha))
    _assert_rel_close(
        lo,
        scipy.stats.beta.ppf(alpha, k, n - k + 1),
        "lower vs beta.ppf",
        k,
        n,
        alpha,
        RTOL_CP_VS_SCIPY,
    )


def test_cp_interval_agrees_with_statsmodels_beta_method():
    """One-sided bounds at alpha equal proportion_confint(k, n, alpha=2 alpha, method='beta')."""
    k, n, alpha = _random_batch(seed=11, size=2000, n_max=SCIPY_NMAX)
    sm_lo, sm_hi = proportion_confint(k, n, alpha=2 * alpha, method="beta")
    lo, hi = (
        np.asarray(rstheory.cp_lower(k, n, alpha=alpha)),
        np.asarray(rstheory.cp_upper(k, n, alpha=alpha)),
    )
    ci = rstheory.cp_interval(k, n, alpha=2 * alpha)
    m = k > 0
    _assert_rel_close(
        lo[m], sm_lo[m], "lower vs statsmodels", k[m], n[m], alpha[m], RTOL_CP_VS_SCIPY
    )
    m = k < n
    _assert_rel_close(
        hi[m], sm_hi[m], "upper vs statsmodels", k[m], n[m], alpha[m], RTOL_CP_VS_SCIPY
    )
    np.testing.assert_array_equal(lo[k == 0], sm_lo[k == 0])
    np.testing.assert_array_equal(hi[k == n], sm_hi[k == n])
    np.testing.assert_array_equal(np.asarray(ci.low), lo)
    np.testing.assert_array_equal(np.asarray(ci.high), hi)


# ------------------------------------------------------------------ (d) coverage


def _exact_miss_probabilities(p, n: int, miss) -> np.ndarray:
    """P_{p_i}[miss_i(X)] for X ~ Bin(n, p_i), summed exactly over x = 0..n; miss has shape (len(p),
    n + 1)."""
    pmf = scipy.stats.binom.pmf(np.arange(n + 1)[None, :], n, np.asarray(p)[:, None])
    return np.sum(pmf * miss, axis=1)


COVERAGE_P = [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]
COVERAGE_N = [1, 7, 50, 400]
COVERAGE_ALPHA = [0.001, 0.05, 0.25]


@pytest.mark.parametrize("alpha", COVERAGE_ALPHA)
def test_cp_exact_coverage_at_least_1_minus_alpha(alpha):
    """Summing the binomial pmf over all outcomes: P[L > p] <= alpha, P[U < p] <= alpha and
    P[p outside cp_interval] <= alpha, for every p on a grid and just below every jump.

    Just below a jump, at p = L(x0) (1 - 2 r) with r = RTOL_CP_REFERENCE, the miss probability
    is P_p[X >= x0], which is below alpha if L(x0) is accurate and close to it: it is at least
    alpha (1 - 4 r (1 + s)) with s = x0 pmf(x0; n, p) / alpha the tail's log-slope in log p
    (for the upper bound, just above each jump, s = (n - x0) pmf(x0; n, p) p / ((1 - p) alpha)).
    So a bound too high, or too low, by a few times r fails here (an exact, not simulated, check).
    """
    r = RTOL_CP_REFERENCE
    limit = alpha * (1 + RTOL_PMF_SUM)
    for n in COVERAGE_N:
        x = np.arange(n + 1)
        lo, hi = (
            np.asarray(rstheory.cp_lower(x, n, alpha=alpha)),
            np.asarray(rstheory.cp_upper(x, n, alpha=alpha)),
        )
        ci = rstheory.cp_interval(x, n, alpha=alpha)
        ci_low, ci_high = np.asarray(ci.low), np.asarray(ci.high)
        below_jumps = lo[1:] * (1 - 2 * r)
        above_jumps = hi[:-1] * (1 + 2 * r)
        p = np.concatenate([COVERAGE_P, below_jumps, above_jumps])[:, None]
        for what, miss in [
            ("lower", lo > p),
            ("upper", hi < p),
            ("two-sided", (ci_low > p) | (ci_high < p)),
        ]:
            prob = _exact_miss_probabilities(p[:, 0], n, miss)
            i = int(np.argmax(prob))
            assert prob[i] <= limit, (
                what,
                "p =",
                p[i, 0],
                "n =",
                n,
                "alpha =",
                alpha,
                "miss =",
                prob[i],
            )
        # Tightness just below each jump of L and just above each jump of U.
        s = x[1:] * scipy.stats.binom.pmf(x[1:], n, below_jumps) / alpha
        miss = _exact_miss_probabilities(below_jumps, n, lo[None, :] > below_jumps[:, None])
        short = miss < alpha * (1 - 4 * r * (1 + s) - RTOL_PMF_SUM)
        assert not short.any(), ("lower tight", n, alpha, x[1:][short], miss[short])
        s = (
            (n - x[:-1])
            * scipy.stats.binom.pmf(x[:-1], n, above_jumps)
            * above_jumps
            / ((1 - above_jumps) * alpha)
        )
        miss = _exact_miss_probabilities(above_jumps, n, hi[None, :] < above_jumps[:, None])
        short = miss < alpha * (1 - 4 * r * (1 + s) - RTOL_PMF_SUM)
        assert not short.any(), ("upper tight", n, alpha, x[:-1][short], miss[short])


MC_DRAWS = 20_000
MC_P = [0.02, 0.2, 0.5, 0.8, 0.98]
MC_N = [10, 100, 1000]
MC_ALPHA = [0.05, 0.25]
MC_TESTS = len(MC_P) * len(MC_N) * len(MC_ALPHA) * 3  # lower, upper, two-sided


def test_cp_coverage_at_least_1_minus_alpha_monte_carlo():
    """Simulated coverage: the miss count of each bound is not significantly above alpha.

    For each (p, n, alpha) on a grid, MC_DRAWS draws X ~ Bin(n, p) (numpy, fixed seed), and
    the number of misses (L > p, U < p, p outside the two-sided interval) is compared with
    alpha by a one-sided exact binomial test. Budget: each of the MC_TESTS comparisons uses
    level MC_FALSE_FAILURE_RATE / MC_TESTS (Bonferroni), so a correct bound fails this test
    with probability at most MC_FALSE_FAILURE_RATE = 1e-6 over the choice of seed.
    """
    rng = np.random.default_rng(12345)
    level = MC_FALSE_FAILURE_RATE / MC_TESTS
    failures = []
    for n in MC_N:
        for p in MC_P:
            x = rng.binomial(n, p, size=MC_DRAWS)
            # The bounds depend on x only: compute them once for each possible count (one shape per
            # n).
            xs = np.arange(n + 1)
            for alpha in MC_ALPHA:
                lo = np.asarray(rstheory.cp_lower(xs, n, alpha=alpha))[x]
                hi = np.asarray(rstheory.cp_upper(xs, n, alpha=alpha))[x]
                ci = rstheory.cp_interval(xs, n, alpha=alpha)
                ci_low, ci_high = np.asarray(ci.low)[x], np.asarray(ci.high)[x]
                misses = {
                    "lower": int(np.sum(lo > p)),
                    "upper": int(np.sum(hi < p)),
                    "two-sided": int(np.sum((ci_low > p) | (ci_high < p))),
                }
                for what, m in misses.items():
                    pvalue = scipy.stats.binom.sf(
                        m - 1, MC_DRAWS, alpha
                    )  # P[count >= m] at rate alpha
                    if pvalue < level:
                        failures.append((what, n, p, alpha, m / MC_DRAWS, pvalue))
    assert not failures, f"miss rate significantly above alpha (level {level:.2g}): {failures}"


# ------------------------------------------------------------------ (e) batching and broadcasting


def test_cp_batched_matches_scalar_loop():
    """A batched call equals np.vectorize of scalar calls (same float64 computation)."""
    k, n, alpha = _random_batch(seed=3, size=24, n_max=10**6)
    for fn in (rstheory.cp_lower, rstheory.cp_upper):
        loop = np.vectorize(lambda a, b, c, fn=fn: _f(fn(int(a), int(b), alpha=float(c))))(
            k, n, alpha
        )
        np.testing.assert_allclose(
            np.asarray(fn(k, n, alpha=alpha)), loop, rtol=RTOL_F64_CLOSED_FORM, atol=0
        )


def test_cp_broadcasts_shapes():
    """k (3, 1) with n (4,) gives (3, 4); alpha broadcasts too; entries match the scalar call."""
    k = np.array([[0], [1], [5]])
    n = np.array([5, 10, 100, 1000])
    alpha = np.array([0.001, 0.01, 0.05, 0.25])
    for fn in (rstheory.cp_lower, rstheory.cp_upper):
        out = fn(k, n, alpha=0.05)
        assert out.shape == (3, 4)
        assert fn(k, n, alpha=alpha).shape == (3, 4)
        assert fn(k, n, alpha=alpha[:, None, None]).shape == (4, 3, 4)
        np.testing.assert_allclose(
            _f(out[2, 1]), _f(fn(5, 10, alpha=0.05)), rtol=RTOL_F64_CLOSED_FORM, atol=0
        )
    ci = rstheory.cp_interval(k, n, alpha=0.05)
    assert ci.low.shape == ci.high.shape == (3, 4)


# ------------------------------------------------------------------ (f) jit


def test_cp_jit_matches_eager():
    """Calling the public functions inside a user's jax.jit (tracer inputs) gives the eager
    values."""
    k, n, alpha = _random_batch(seed=5, size=64, n_max=10**7)
    kj, nj, aj = (
        jnp.asarray(k, dtype=jnp.float64),
        jnp.asarray(n, dtype=jnp.float64),
        jnp.asarray(alpha),
    )
    for fn in (rstheory.cp_lower, rstheory.cp_upper):
        np.testing.assert_allclose(
            np.asarray(jax.jit(fn)(kj, nj, alpha=aj)),
            np.asarray(fn(k, n, alpha=alpha)),
            rtol=RTOL_F64_CLOSED_FORM,
            atol=0,
        )
    ci_jit = jax.jit(rstheory.cp_interval)(kj, nj, alpha=aj)
    ci = rstheory.cp_interval(k, n, alpha=alpha)
    assert isinstance(ci_jit, rstheory.ConfidenceInterval)
    np.testing.assert_allclose(
        np.asarray(ci_jit.low), np.asarray(ci.low), rtol=RTOL_F64_CLOSED_FORM, atol=0
    )
    np.testing.assert_allclose(
        np.asarray(ci_jit.high), np.asarray(ci.high), rtol=RTOL_F64_CLOSED_FORM, atol=0
    )


def test_cp_under_jit_skips_value_checks_and_gives_nan():
    """Under jit the values are unknown: no exception, and out-of-domain entries are NaN."""
    out = jax.jit(rstheory.cp_lower)(jnp.float64(5.0), jnp.float64(3.0), alpha=jnp.float64(0.05))
    assert np.isnan(_f(out))
    out = jax.jit(rstheory.cp_upper)(jnp.float64(1.0), jnp.float64(3.0), alpha=jnp.float64(1.5))
    assert np.isnan(_f(out))


# ------------------------------------------------------------------ (g) bad input

BAD_INPUTS = [
    (dict(k=5, n=3, alpha=0.05), "k"),
    (dict(k=-1, n=3, alpha=0.05), "k"),
    (dict(k=1.5, n=3, alpha=0.05), "k"),
    (dict(k=float("nan"), n=3, alpha=0.05), "k"),
    (dict(k=np.array([1, 7]), n=5, alpha=0.05), "k"),
    (dict(k=1, n=0, alpha=0.05), "n"),
    (dict(k=0, n=-2, alpha=0.05), "n"),
    (dict(k=1, n=2.5, alpha=0.05), "n"),
    (dict(k=1, n=float("nan"), alpha=0.05), "n"),
    (dict(k=1, n=float("inf"), alpha=0.05), "n"),
    (dict(k=1, n=3, alpha=0.0), "alpha"),
    (dict(k=1, n=3, alpha=1.0), "alpha"),
    (dict(k=1, n=3, alpha=-0.1), "alpha"),
    (dict(k=1, n=3, alpha=1.5), "alpha"),
    (dict(k=1, n=3, alpha=float("nan")), "alpha"),
    (dict(k=1, n=3, alpha=np.array([0.05, 2.0])), "alpha"),
]


@pytest.mark.parametrize(
    "fn",
    [rstheory.cp_lower, rstheory.cp_upper, rstheory.cp_interval],
    ids=["cp_lower", "cp_upper", "cp_interval"],
)
@pytest.mark.parametrize(
    ("kwargs", "name"), BAD_INPUTS, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD_INPUTS)]
)
def test_cp_bad_input_raises_value_error_naming_the_argument(fn, kwargs, name):
    with pytest.raises(ValueError) as err:
        fn(kwargs["k"], kwargs["n"], alpha=kwargs["alpha"])
    assert re.search(rf"\b{name}\b", str(err.value)), str(err.value)


@pytest.mark.parametrize("fn", [rstheory.cp_lower, rstheory.cp_upper], ids=["cp_lower", "cp_upper"])
def test_cp_accepts_integer_valued_floats(fn):
    """k = 3.0, n = 10.0 (and float arrays) are valid and equal the integer call."""
    want = _f(fn(3, 10, alpha=0.05))
    assert _f(fn(3.0, 10.0, alpha=0.05)) == want
    assert _f(fn(np.float64(3.0), np.array(10.0), alpha=0.05)) == want
    np.testing.assert_array_equal(
        np.asarray(fn(np.array([3.0, 3.0]), 10.0, alpha=0.05)), [want, want]
    )


# ------------------------------------------------------------------ (h, i) output types


INPUT_KINDS = {
    "python": (3, 10, 0.05),
    "numpy": (np.int64(3), np.array(10), np.float64(0.05)),
    "numpy-array": (np.array([3, 4]), np.array([10, 10]), np.array([0.05, 0.05])),
    "jax": (jnp.asarray(3), jnp.asarray(10), jnp.asarray(0.05)),
    "jax-float32": (jnp.float32(3), jnp.float32(10), jnp.float32(0.05)),
    "jax-int32": (jnp.int32(3), jnp.int32(10), jnp.float32(0.05)),
}


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_cp_outputs_are_float64_jax_arrays(kind):
    k, n, alpha = INPUT_KINDS[kind]
    for out in (
        rstheory.cp_lower(k, n, alpha=alpha),
        rstheory.cp_upper(k, n, alpha=alpha),
        *rstheory.cp_interval(k, n, alpha=alpha),
    ):
        assert isinstance(out, jax.Array), type(out)
        assert out.dtype == jnp.float64, out.dtype
        assert out.shape == np.broadcast_shapes(np.shape(k), np.shape(n), np.shape(alpha))


def test_cp_float32_input_gives_float64_result_of_the_upcast_value():
    """float32 alpha is upcast, not computed in float32: equals the call on float(np.float32(a))."""
    a32 = jnp.float32(1e-6)
    out = rstheory.cp_lower(jnp.float32(900), jnp.float32(1000), alpha=a32)
    assert out.dtype == jnp.float64
    want = _f(rstheory.cp_lower(900, 1000, alpha=float(np.float32(1e-6))))
    np.testing.assert_allclose(_f(out), want, rtol=RTOL_F64_CLOSED_FORM, atol=0)


# ------------------------------------------------------------------ (j) the largest count

MAX_COUNT = 2**53 - 1  # written out here: n - k + 1 and n + 1 are exact float64 integers


@pytest.mark.parametrize("k", [1, 10, 1000])
def test_bounds_at_the_largest_count_match_the_poisson_limit(k):
    """At n = 2**53 - 1 the binomial tail is Poisson to O(k / n) ~ 1e-13 relative, so the
    bounds are gamma quantiles over n (scipy.stats.gamma, an independent route)."""
    low = _f(rstheory.cp_lower(k, MAX_COUNT, alpha=0.001))
    high = _f(rstheory.cp_upper(k, MAX_COUNT, alpha=0.001))
    assert low == pytest.approx(scipy.stats.gamma.ppf(0.001, k) / MAX_COUNT, rel=RTOL_CP_VS_SCIPY)
    assert high == pytest.approx(
        scipy.stats.gamma.ppf(0.999, k + 1) / MAX_COUNT, rel=RTOL_CP_VS_SCIPY
    )


@pytest.mark.parametrize(
    ("k", "n", "name", "shown"),
    [
        (10, 10**20, "n", "100000000000000000000"),  # a Python int beyond int64
        (10, 1e20, "n", "1e+20"),
        (10, MAX_COUNT + 1, "n", str(MAX_COUNT + 1)),
        (0, np.int64(MAX_COUNT + 1), "n", str(MAX_COUNT + 1)),
        (10**20, 10, "k", "100000000000000000000"),
    ],
)
def test_counts_beyond_float64_integers_are_refused_with_the_range(k, n, name, shown):
    """Not 'n must be numeric, got dtype object': the argument, its range and the value."""
    allowed = "an integer >= 1" if name == "n" else "an integer in [0, n]"
    want = f"{name} must be {allowed} (at most 2**53 - 1 = {MAX_COUNT}, "
    for fn in (rstheory.cp_lower, rstheory.cp_upper, rstheory.cp_interval):
        with pytest.raises(ValueError) as err:
            fn(k, n, alpha=0.001)
        assert str(err.value).startswith(want) and str(err.value).endswith(f"got {shown}")


def test_counts_of_shapes_that_do_not_broadcast_are_named_with_their_shapes():
    with pytest.raises(
        ValueError, match=re.escape("n of shape (3,) does not broadcast with k (2,)")
    ):
        rstheory.cp_lower([1, 2], [3, 4, 5], alpha=0.001)


@pytest.mark.parametrize("name", ["cp_lower", "cp_upper", "cp_interval"])
def test_an_alpha_that_does_not_broadcast_is_named_with_its_shape(name):
    func = getattr(rstheory, name)
    with pytest.raises(ValueError, match=r"alpha of shape \(3,\) does not broadcast with k \(2,\)"):
        func(np.array([1, 2]), np.array([10, 10]), alpha=np.array([0.01, 0.02, 0.03]))
