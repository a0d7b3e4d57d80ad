"""Tests of rstheory.bounds.lower_bound / upper_bound (fixed-n methods).

Coverage is checked two ways: exactly, by summing the binomial pmf (scipy) over ``k`` on
a grid of ``p`` that includes every point where the coverage jumps (just below each
lower bound and just above each upper bound, where the infimum is approached), and by
Monte Carlo with a stated false-failure budget. statsmodels' ``proportion_confint`` is an
independent route for Clopper-Pearson and Wilson.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from rstheory import bounds
from tests.tolerances import (
    ATOL_PMF_SUM,
    ATOL_RANDOMIZED_COVERAGE,
    ATOL_WILSON_VS_STATSMODELS,
    MC_FALSE_FAILURE_RATE,
    RTOL_CP_REFERENCE,
    RTOL_CP_VS_SCIPY,
    RTOL_F64_CLOSED_FORM,
)

VALID_FIXED_N = ("clopper_pearson", "hoeffding", "empirical_bernstein")
NS = (1, 2, 5, 10, 30, 100)
ALPHAS = (0.05, 0.2)

# Offset of the probe points from a jump of the coverage: far above the bounds' own
# accuracy (1e-10 relative), so the probe lies on the intended side of the jump.
JUMP_OFFSET = 1e-8


# Every call goes through chunks of this fixed length: XLA compiles one program per input
# shape (seconds each for the Clopper-Pearson solver), so one shape keeps the file fast.
CHUNK = 1024


def _chunked(fn, *args, **options):
    """``fn(*args, **options)`` on flattened, fixed-length padded chunks (padding repeats
    the first element, so it is always valid input)."""
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in args))
    shape = arrays[0].shape
    flat = [a.ravel() for a in arrays]
    size = flat[0].size
    extra = {k: np.broadcast_to(v, shape).ravel() for k, v in options.items() if k == "u"}
    fixed = {k: v for k, v in options.items() if k != "u"}
    out = []
    for start in range(0, size, CHUNK):
        stop = min(start + CHUNK, size)
        pad = CHUNK - (stop - start)
        piece = [
            np.concatenate([a[start:stop], np.repeat(a[start : start + 1], pad)]) for a in flat
        ]
        opts = dict(fixed)
        for k, v in extra.items():
            opts[k] = np.concatenate([v[start:stop], np.repeat(v[start : start + 1], pad)])
        if "rng" in fixed:
            opts["u"] = fixed["rng"].random(CHUNK)
            del opts["rng"]
        k, n, alpha = piece
        out.append(np.asarray(fn(k, n, alpha=alpha, **opts), dtype=np.float64)[: stop - start])
    return np.concatenate(out).reshape(shape)


def _bound(side, k, n, alpha, method, **options):
    fn = bounds.lower_bound if side == "lower" else bounds.upper_bound
    return _chunked(fn, k, n, alpha, method=method, **options)


def _probe_points(values, side):
    """A uniform grid of p plus the points just past every jump of the coverage."""
    values = np.asarray(values)
    offset = -JUMP_OFFSET if side == "lower" else JUMP_OFFSET
    jumps = np.concatenate([values * (1 + offset), values + offset, values])
    return np.clip(np.concatenate([np.linspace(0, 1, 201), jumps]), 0, 1)


def exact_coverage(side, n, alpha, method):
    """(p grid, P_p[bound covers p]) by summing the binomial pmf over k = 0..n."""
    ks = np.arange(n + 1)
    b = _bound(side, ks, n, alpha, method)
    ps = _probe_points(b, side)
    pmf = stats.binom.pmf(ks[None, :], n, ps[:, None])
    covers = b[None, :] <= ps[:, None] if side == "lower" else b[None, :] >= ps[:, None]
    return ps, (pmf * covers).sum(axis=1)


# ------------------------------------------------------------------ exact coverage


@pytest.mark.parametrize("side", ["lower", "upper"])
@pytest.mark.parametrize("method", VALID_FIXED_N)
def test_exact_coverage_is_at_least_one_minus_alpha(method, side):
    """inf_p P_p[bound covers p] >= 1 - alpha on every grid (n, alpha), jumps included."""
    for n in NS:
        for alpha in ALPHAS:
            ps, cov = exact_coverage(side, n, alpha, method)
            i = int(np.argmin(cov))
            assert cov[i] >= 1 - alpha - ATOL_PMF_SUM, (method, side, n, alpha, ps[i], cov[i])


def test_wilson_exact_coverage_falls_below_one_minus_alpha():
    """Wilson is approximate: somewhere its exact coverage is below 1 - alpha."""
    worst = min((exact_coverage("lower", n, 0.05, "wilson")[1].min(), n) for n in (5, 10, 30, 100))
    assert worst[0] < 1 - 0.05, worst
    assert bounds.METHODS["wilson"].validity == "approximate"


def _u_threshold(k, n, alpha, p, side, steps=40):
    """The u beyond which the randomized bound covers p (it moves monotonically in u)."""
    lo, hi = np.zeros_like(p), np.ones_like(p)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        b = _bound(side, k, n, alpha, "randomized_clopper_pearson", u=mid)
        covered = b <= p if side == "lower" else b >= p
        lo, hi = np.where(covered, lo, mid), np.where(covered, mid, hi)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("side", ["lower", "upper"])
def test_randomized_clopper_pearson_coverage_is_exactly_one_minus_alpha(side):
    """coverage(p) = sum_k pmf(k) P_u[bound(k, u) covers p] = 1 - alpha, to 1e-9.

    For each (p, k) the set of covering u is an interval [u*, 1] (lower bound decreasing
    in u); u* is found by bisection on rstheory's bound itself, so the sum integrates
    over u the implementation, not the formula.
    """
    alpha = 0.1
    for n in (1, 7, 40):
        ps = np.array([0.003, 0.2, 0.5, 0.77, 0.999])
        ks = np.arange(n + 1)
        kk, pp = np.meshgrid(ks, ps)
        u_star = _u_threshold(kk, n, alpha, pp, side)
        cov = (stats.binom.pmf(kk, n, pp) * (1 - u_star)).sum(axis=1)
        np.testing.assert_allclose(cov, 1 - alpha, rtol=0, atol=ATOL_RANDOMIZED_COVERAGE)


def test_randomized_bound_solves_its_defining_equation():
    """P[X > k] + u P[X = k] = alpha at the lower bound (scipy's binomial sf / pmf)."""
    n, alpha = 50, 0.05
    k = np.arange(1, n)
    u = np.linspace(0.01, 0.99, k.size)
    p = _bound("lower", k, n, alpha, "randomized_clopper_pearson", u=u)
    g = stats.binom.sf(k, n, p) + u * stats.binom.pmf(k, n, p)
    np.testing.assert_allclose(g, alpha, rtol=RTOL_CP_REFERENCE)
    q = _bound("upper", k, n, alpha, "randomized_clopper_pearson", u=u)
    g = stats.binom.cdf(k - 1, n, q) + u * stats.binom.pmf(k, n, q)
    np.testing.assert_allclose(g, alpha, rtol=RTOL_CP_REFERENCE)


def test_randomized_bound_lies_between_neighbouring_clopper_pearson_bounds():
    """u = 1 gives CP L(k); u = 0 gives CP L(k + 1) (1 at k = n for u <= alpha)."""
    n, alpha = 30, 0.05
    k = np.arange(n + 1)
    cp = _bound("lower", k, n, alpha, "clopper_pearson")
    cp_next = np.append(cp[1:], 1.0)
    at_one = _bound("lower", k, n, alpha, "randomized_clopper_pearson", u=1.0)
    at_zero = _bound("lower", k, n, alpha, "randomized_clopper_pearson", u=0.0)
    np.testing.assert_allclose(at_one, cp, rtol=RTOL_CP_REFERENCE)
    np.testing.assert_allclose(at_zero, cp_next, rtol=RTOL_CP_REFERENCE)


# ------------------------------------------------------------------ Monte Carlo coverage

MC_POINTS = ((0.02, 50), (0.5, 20), (0.9, 200), (0.99, 1000))
MC_DATASETS = 10_000


def _mc_failures(method, alpha, side, sample_rng, **options):
    """Failures (bound on the wrong side of the true p) over MC_POINTS x MC_DATASETS."""
    p = np.repeat([q for q, _ in MC_POINTS], MC_DATASETS)
    n = np.repeat([m for _, m in MC_POINTS], MC_DATASETS)
    k = sample_rng.binomial(n, p)
    b = _bound(side, k, n, alpha, method, **options)
    failures = int(np.sum(b > p) if side == "lower" else np.sum(b < p))
    return failures, p.size


@pytest.mark.parametrize("side", ["lower", "upper"])
@pytest.mark.parametrize("method", (*VALID_FIXED_N, "randomized_clopper_pearson"))
def test_monte_carlo_failure_rate_is_at_most_alpha(method, side):
    """Failures among 4 x 10,000 simulated datasets stay below the binomial
    ``1 - MC_FALSE_FAILURE_RATE`` quantile of Bin(40,000, alpha).

    Budget: the failure count is a sum of independent Bin(10,000, q_i) with q_i <= alpha,
    stochastically below Bin(40,000, alpha), so a valid method fails this test with
    probability < 1e-6 (seeded, so a run is reproducible).
    """
    alpha = 0.1
    rng = np.random.default_rng(20240601)
    options = {"rng": rng} if method == "randomized_clopper_pearson" else {}
    failures, total = _mc_failures(method, alpha, side, np.random.default_rng(7), **options)
    limit = stats.binom.ppf(1 - MC_FALSE_FAILURE_RATE, total, alpha)
    assert failures <= limit, (method, side, failures, total, limit)


# ------------------------------------------------------------------ independent routes


def test_clopper_pearson_method_matches_statsmodels_beta():
    k, n, alpha = np.arange(0, 41), 40, 0.05
    lo, hi = proportion_confint(k, n, alpha=2 * alpha, method="beta")
    np.testing.assert_allclose(
        _bound("lower", k, n, alpha, "clopper_pearson"), np.nan_to_num(lo), rtol=RTOL_CP_VS_SCIPY
    )
    np.testing.assert_allclose(
        _bound("upper", k, n, alpha, "clopper_pearson"),
        np.nan_to_num(hi, nan=1.0),
        rtol=RTOL_CP_VS_SCIPY,
    )


def test_wilson_method_matches_statsmodels():
    k, n, alpha = np.arange(0, 41), 40, 0.05
    lo, hi = proportion_confint(k, n, alpha=2 * alpha, method="wilson")
    np.testing.assert_allclose(
        _bound("lower", k, n, alpha, "wilson"), lo, atol=ATOL_WILSON_VS_STATSMODELS
    )
    np.testing.assert_allclose(
        _bound("upper", k, n, alpha, "wilson"), hi, atol=ATOL_WILSON_VS_STATSMODELS
    )


def test_hoeffding_and_empirical_bernstein_closed_forms():
    k, n, alpha = np.array([0, 3, 10, 20]), 20, 0.05
    p_hat = k / n
    np.testing.assert_allclose(
        _bound("lower", k, n, alpha, "hoeffding"),
        np.clip(p_hat - np.sqrt(np.log(1 / alpha) / (2 * n)), 0, 1),
        rtol=RTOL_F64_CLOSED_FORM,
    )
    var = k * (n - k) / (n * (n - 1))
    eb = p_hat - np.sqrt(2 * var * np.log(2 / alpha) / n) - 7 * np.log(2 / alpha) / (3 * (n - 1))
    np.testing.assert_allclose(
        _bound("lower", k, n, alpha, "empirical_bernstein"),
        np.clip(eb, 0, 1),
        rtol=RTOL_F64_CLOSED_FORM,
    )
    assert float(bounds.lower_bound(1, 1, alpha=0.05, method="empirical_bernstein")) == 0.0


def test_betabinomial_cs_method_is_the_confidence_sequence():
    k = np.arange(CHUNK) % 101
    ci = bounds.betabinomial_cs(k, 100, alpha=0.05, prior=(2.0, 3.0))
    np.testing.assert_array_equal(
        bounds.lower_bound(k, 100, alpha=0.05, method="betabinomial_cs", prior=(2.0, 3.0)), ci.low
    )
    np.testing.assert_array_equal(
        bounds.upper_bound(k, 100, alpha=0.05, method="betabinomial_cs", prior=(2.0, 3.0)), ci.high
    )


# ------------------------------------------------------------------ properties

DETERMINISTIC = ("clopper_pearson", "hoeffding", "empirical_bernstein", "wilson", "betabinomial_cs")


@st.composite
def counts(draw, n_max: int = 10_000):
    n = draw(st.integers(1, n_max))
    k = draw(st.one_of(st.sampled_from([0, n]), st.integers(0, n)))
    return k, n


alphas = st.floats(1e-6, 0.45)


@given(counts(), alphas)
def test_lower_below_estimate_below_upper(kn, alpha):
    k, n = kn
    for method in DETERMINISTIC:
        lo = float(_bound("lower", k, n, alpha, method))
        hi = float(_bound("upper", k, n, alpha, method))
        assert 0.0 <= lo <= k / n <= hi <= 1.0, (method, lo, hi)


@given(counts(), alphas, st.floats(0, 1))
def test_bounds_are_monotone_in_k_and_alpha(kn, alpha, u):
    """lower/upper nondecreasing in k; lower nondecreasing, upper nonincreasing in alpha."""
    k, n = kn
    k2 = min(k + 1, n)
    for method in (*DETERMINISTIC, "randomized_clopper_pearson"):
        opts = {"u": u} if method == "randomized_clopper_pearson" else {}
        lo = _bound("lower", [k, k2, k], n, [alpha, alpha, 2 * alpha], method, **opts)
        hi = _bound("upper", [k, k2, k], n, [alpha, alpha, 2 * alpha], method, **opts)
        assert lo[0] <= lo[1] and hi[0] <= hi[1], (method, lo, hi)
        assert lo[0] <= lo[2] and hi[2] <= hi[0], (method, lo, hi)


@given(counts(n_max=1000), st.floats(1e-6, 0.45), st.floats(0, 1), st.floats(0, 1))
def test_randomized_bound_decreases_in_u(kn, alpha, u1, u2):
    k, n = kn
    u_lo, u_hi = sorted((u1, u2))
    lo = _bound("lower", [k, k], n, alpha, "randomized_clopper_pearson", u=[u_lo, u_hi])
    hi = _bound("upper", [k, k], n, alpha, "randomized_clopper_pearson", u=[u_lo, u_hi])
    assert lo[0] >= lo[1] and hi[0] <= hi[1]


# ------------------------------------------------------------------ interface and validation


def test_methods_table_describes_every_method():
    assert set(bounds.METHODS) == {
        "clopper_pearson",
        "hoeffding",
        "empirical_bernstein",
        "wilson",
        "randomized_clopper_pearson",
        "betabinomial_cs",
    }
    for name, m in bounds.METHODS.items():
        assert m.name == name
        assert m.validity in ("exact", "conservative", "approximate")
        assert m.horizon in ("fixed-n", "anytime-valid")
    assert bounds.METHODS["betabinomial_cs"].horizon == "anytime-valid"
    assert bounds.METHODS["randomized_clopper_pearson"].validity == "exact"


def test_default_method_is_clopper_pearson():
    import rstheory

    k = np.arange(CHUNK) % 101
    np.testing.assert_array_equal(
        bounds.lower_bound(k, 100, alpha=0.05), rstheory.cp_lower(k, 100, alpha=0.05)
    )
    np.testing.assert_array_equal(
        bounds.upper_bound(k, 100, alpha=0.05), rstheory.cp_upper(k, 100, alpha=0.05)
    )


def test_shapes_broadcast():
    k = (np.arange(CHUNK) % 11).reshape(32, 32)
    for method in DETERMINISTIC:
        assert bounds.lower_bound(k, 10, alpha=0.05, method=method).shape == (32, 32)
        assert bounds.upper_bound(k, 10, alpha=np.full((1, 32), 0.05), method=method).shape == (
            32,
            32,
        )
    out = bounds.lower_bound(
        k, 10, alpha=0.05, method="randomized_clopper_pearson", u=np.full((32, 1), 0.5)
    )
    assert out.shape == (32, 32)


def test_randomized_draws_from_a_key_or_a_generator_reproducibly():
    key = jax.random.PRNGKey(3)
    k = np.arange(CHUNK) % 11
    a = bounds.lower_bound(k, 10, alpha=0.05, method="randomized_clopper_pearson", key=key)
    b = bounds.lower_bound(k, 10, alpha=0.05, method="randomized_clopper_pearson", key=key)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(np.asarray(a)[k == 5])) > 1  # u varies between elements
    c = bounds.lower_bound(
        k, 10, alpha=0.05, method="randomized_clopper_pearson", rng=np.random.default_rng(1)
    )
    u = np.random.default_rng(1).random(CHUNK)
    np.testing.assert_array_equal(
        c, bounds.lower_bound(k, 10, alpha=0.05, method="randomized_clopper_pearson", u=u)
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: bounds.lower_bound(1, 10, alpha=0.05, method="agresti"),
            r"method must be one of \[.*'clopper_pearson'.*'wilson'\]",
        ),
        (lambda: bounds.lower_bound(11, 10, alpha=0.05), r"k must be an integer in \[0, n\]"),
        (lambda: bounds.lower_bound(1, 0, alpha=0.05), r"n must be an integer >= 1"),
        (
            lambda: bounds.upper_bound(1, 10, alpha=1.5, method="hoeffding"),
            r"alpha must lie in the open interval \(0, 1\)",
        ),
        (
            lambda: bounds.lower_bound(1, 10, alpha=0.05, method="hoeffding", u=0.5),
            r"method 'hoeffding' takes the options \(none\)",
        ),
        (
            lambda: bounds.lower_bound(1, 10, alpha=0.05, method="randomized_clopper_pearson"),
            r"exactly one of u=",
        ),
        (
            lambda: bounds.lower_bound(
                1, 10, alpha=0.05, method="randomized_clopper_pearson", u=1.2
            ),
            r"u must lie in \[0, 1\]",
        ),
        (
            lambda: bounds.lower_bound(
                1, 10, alpha=0.05, method="randomized_clopper_pearson", rng=3
            ),
            r"rng must be a numpy.random.Generator",
        ),
        (
            lambda: bounds.lower_bound(1, 10, alpha=0.05, method="betabinomial_cs", prior=(0, 1)),
            r"prior must be a pair",
        ),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
