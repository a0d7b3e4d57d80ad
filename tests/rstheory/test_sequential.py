"""Tests of rstheory.sequential: boundaries, the exact stopping law, plans, comparison.

False-failure budget: every Monte Carlo comparison below is a z-test at two-sided (or,
for an upper bound, one-sided) level 1e-6 against the exact value from the recursion, with
fixed seeds; the default selection makes 18 such tests, so a correct implementation fails
with probability below 2e-5 over fresh seeds (and never with these seeds).
"""

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

import rstheory
from rstheory import distributions
from rstheory._confseq import betabinomial_cs
from rstheory.sequential import (
    Boundaries,
    boundaries,
    checkpoints,
    compare_fixed,
    default_prior,
    operating_characteristics,
    sequential_plan,
    target_probability,
)
from tests.tolerances import (
    ATOL_CONSTANT_SAMPLE_MEAN,
    ATOL_SEQUENTIAL_FRACTIONS_TOTAL,
    ATOL_SEQUENTIAL_POINT_PLAN,
    ATOL_SEQUENTIAL_VS_ENUMERATION,
    RTOL_ONE_ROUNDING,
    RTOL_SAME_COMPUTATION,
    RTOL_SEQUENTIAL_VS_ENUMERATION,
)

PAD = 1024  # every bound evaluation below has this length: one compiled program each


def padded(fn, k, n, *args, **kwargs):
    """``fn(k, n, ...)`` evaluated on arrays padded to ``PAD`` entries, cut back."""
    k, n = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64))
    assert k.ndim == 1 and k.size <= PAD
    kp, np_ = np.zeros(PAD), np.ones(PAD)
    kp[: k.size], np_[: k.size] = k, n
    out = fn(kp, np_, *args, **kwargs)
    return [np.asarray(o)[: k.size] for o in (out if isinstance(out, tuple) else (out,))]


Z_TWO = scipy.stats.norm.isf(0.5e-6)  # two-sided 1e-6
Z_ONE = scipy.stats.norm.isf(1e-6)  # one-sided 1e-6

# A small rule: p* = Phi(0.5) = 0.691, 20 looks.
SMALL = dict(radius=0.25, sigma=0.5, alpha=0.05, batch_size=20, n_max=400)


def simulate(p, b: Boundaries, paths: int, seed: int):
    """Monte Carlo of the rule from its boundaries: (samples used, certified, futile) per path."""
    rng = np.random.default_rng(seed)
    ns = b.checkpoints
    steps = np.diff(np.concatenate([[0], ns]))
    k = np.cumsum(rng.binomial(steps[None, :], p, size=(paths, ns.size)), axis=1)
    cert = k >= b.k_certify[None, :]
    fut = k <= b.k_futile[None, :]
    stop = cert | fut
    stop[:, -1] = True
    j = np.argmax(stop, axis=1)
    rows = np.arange(paths)
    return ns[j], cert[rows, j], fut[rows, j]


def simulate_cs(p, *, radius, sigma, alpha, batch_size, n_max, prior, paths, seed):
    """Monte Carlo of the rule evaluating the confidence sequence itself at every look."""
    rng = np.random.default_rng(seed)
    p_star = target_probability(radius=radius, sigma=sigma)
    ns = checkpoints(batch_size=batch_size, n_max=n_max)
    k = np.zeros(paths, dtype=np.int64)
    used = np.full(paths, ns[-1])
    cert = np.zeros(paths, dtype=bool)
    alive = np.ones(paths, dtype=bool)
    prev = 0
    for n in ns:
        k[alive] += rng.binomial(n - prev, p, size=int(alive.sum()))
        prev = n
        idx = np.flatnonzero(alive)
        ci = betabinomial_cs(k[idx], np.full(idx.size, n), alpha=alpha, prior=prior)
        low, high = np.asarray(ci.low), np.asarray(ci.high)
        c, f = low >= p_star, high < p_star
        cert[idx[c]] = True
        used[idx[c | f]] = n
        alive[idx[c | f]] = False
    return used, cert


def z_mean(x, mu):
    sd = x.std(ddof=1)
    if sd == 0:
        return 0.0 if np.isclose(x.mean(), mu, rtol=0, atol=ATOL_CONSTANT_SAMPLE_MEAN) else math.inf
    return abs(x.mean() - mu) / (sd / math.sqrt(x.size))


def z_prop(hits, prob):
    n = hits.size
    if prob <= 0 or prob >= 1:
        return 0.0 if hits.mean() == prob else math.inf
    return abs(hits.mean() - prob) / math.sqrt(prob * (1 - prob) / n)


# ------------------------------------------------------------------------ the recursion


@pytest.mark.parametrize("p", [0.55, 0.68, 0.72, 0.85])
def test_recursion_matches_monte_carlo(p):
    b = boundaries(**SMALL)
    oc = operating_characteristics(p, bounds=b)
    used, cert, fut = simulate(p, b, paths=40_000, seed=int(p * 1000))
    assert z_mean(used.astype(float), float(oc.expected_samples)) < Z_TWO
    assert z_prop(cert, float(oc.certify)) < Z_TWO
    assert z_prop(fut, float(oc.futility)) < Z_TWO


@pytest.mark.parametrize("p", [0.6, 0.75])
def test_recursion_matches_the_rule_evaluated_directly(p):
    # Independent of the boundaries: the simulation reads the confidence sequence itself.
    kw = dict(radius=0.25, sigma=0.5, alpha=0.05, batch_size=25, n_max=300)
    prior = default_prior(target_probability(radius=0.25, sigma=0.5))
    oc = operating_characteristics(p, bounds=boundaries(**kw, prior=prior))
    used, cert = simulate_cs(p, **kw, prior=prior, paths=6_000, seed=7)
    assert z_mean(used.astype(float), float(oc.expected_samples)) < Z_TWO
    assert z_prop(cert, float(oc.certify)) < Z_TWO


def test_probabilities_sum_to_one_and_match_a_point_mass_plan():
    b = boundaries(radius=0.5, sigma=0.5, alpha=0.001, batch_size=50, n_max=3000)
    p = np.linspace(0.0, 1.0, 41)
    oc = operating_characteristics(p, bounds=b)
    total = oc.certify + oc.futility + oc.undecided
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=ATOL_SEQUENTIAL_FRACTIONS_TOTAL)
    assert oc.certify.shape == p.shape
    assert ((oc.expected_samples >= 50 - 1e-9) & (oc.expected_samples <= 3000 + 1e-9)).all()
    plan = sequential_plan(
        distributions.PointMass(0.93), radius=0.5, sigma=0.5, alpha=0.001, batch_size=50, n_max=3000
    )
    one = operating_characteristics(0.93, bounds=b)
    assert plan.certified_fraction == pytest.approx(
        float(one.certify), abs=ATOL_SEQUENTIAL_POINT_PLAN
    )
    assert plan.expected_samples == pytest.approx(
        float(one.expected_samples), rel=RTOL_SAME_COMPUTATION
    )
    assert plan.certified_fraction + plan.futility_fraction + plan.max_fraction == pytest.approx(
        1.0, abs=ATOL_SEQUENTIAL_FRACTIONS_TOTAL
    )
    assert plan.certify_by_checkpoint.sum() == pytest.approx(
        plan.certified_fraction, abs=ATOL_SEQUENTIAL_FRACTIONS_TOTAL
    )


def test_short_rules_are_exact_against_enumeration():
    # Two looks of 3 samples: enumerate every path.
    b = boundaries(radius=0.05, sigma=0.5, alpha=0.3, batch_size=3, n_max=6)
    p = 0.8
    cert = fut = 0.0
    expected = 0.0
    for x1 in range(4):
        p1 = scipy.stats.binom.pmf(x1, 3, p)
        if x1 >= b.k_certify[0] or x1 <= b.k_futile[0]:
            cert += p1 * (x1 >= b.k_certify[0])
            fut += p1 * (x1 <= b.k_futile[0])
            expected += 3 * p1
            continue
        for x2 in range(4):
            p2 = p1 * scipy.stats.binom.pmf(x2, 3, p)
            k = x1 + x2
            cert += p2 * (k >= b.k_certify[1])
            fut += p2 * (k <= b.k_futile[1])
            expected += 6 * p2
    oc = operating_characteristics(p, bounds=b)
    assert float(oc.certify) == pytest.approx(cert, abs=ATOL_SEQUENTIAL_VS_ENUMERATION)
    assert float(oc.futility) == pytest.approx(fut, abs=ATOL_SEQUENTIAL_VS_ENUMERATION)
    assert float(oc.expected_samples) == pytest.approx(expected, rel=RTOL_SEQUENTIAL_VS_ENUMERATION)


# ------------------------------------------------------------------------ type-I error


@pytest.mark.parametrize(
    ("alpha", "batch_size", "n_max"), [(0.05, 1, 500), (0.05, 10, 2000), (0.001, 100, 20_000)]
)
def test_type_one_error_below_alpha_exactly(alpha, batch_size, n_max):
    b = boundaries(radius=0.25, sigma=0.5, alpha=alpha, batch_size=batch_size, n_max=n_max)
    p = b.p_star - 1e-9
    assert float(operating_characteristics(p, bounds=b).certify) <= alpha
    # The worst case over p < p* is the supremum at p -> p*; nearby values are smaller.
    below = operating_characteristics(np.array([b.p_star - 0.01, b.p_star - 0.05]), bounds=b)
    assert (below.certify <= alpha).all()


def test_type_one_error_below_alpha_by_monte_carlo():
    b = boundaries(**SMALL)
    p = b.p_star - 1e-9
    _, cert, _ = simulate(p, b, paths=100_000, seed=11)
    alpha = SMALL["alpha"]
    assert cert.mean() <= alpha + Z_ONE * math.sqrt(alpha * (1 - alpha) / cert.size)


def test_naive_clopper_pearson_rechecked_every_batch_exceeds_alpha():
    # The same recursion with fixed-n Clopper-Pearson boundaries: repeated looks inflate
    # the error far above alpha, while the confidence sequence stays below it.
    kw = dict(radius=0.25, sigma=0.5, alpha=0.05, batch_size=1, n_max=500)
    naive = boundaries(**kw, method="clopper_pearson")
    p = naive.p_star - 1e-9
    err = float(operating_characteristics(p, bounds=naive).certify)
    assert err > 0.2  # 0.269
    assert float(operating_characteristics(p, bounds=boundaries(**kw)).certify) < 0.05
    # and the recursion's value is what the naive rule does (Monte Carlo):
    _, cert, _ = simulate(p, naive, paths=20_000, seed=3)
    assert z_prop(cert, err) < Z_TWO
    assert cert.mean() > kw["alpha"]


# ------------------------------------------------------------------------ boundaries


@given(
    n=st.integers(1, 400),
    p_star=st.floats(0.52, 0.995),
    alpha=st.sampled_from([0.5, 0.05, 0.001, 1e-6]),
    size=st.floats(0.5, 200.0),
)
def test_confidence_sequence_ends_are_monotone_in_k(n, p_star, alpha, size):
    k = np.arange(n + 1)
    low, high = padded(betabinomial_cs, k, n, alpha=alpha, prior=default_prior(p_star, size=size))
    assert (np.diff(low) >= 0).all()
    assert (np.diff(high) >= 0).all()


@given(
    radius=st.floats(0.05, 1.5),
    alpha=st.sampled_from([0.2, 0.01, 0.001]),
    batch_size=st.integers(1, 60),
    looks=st.integers(1, 12),
    method=st.sampled_from(["betabinomial_cs", "clopper_pearson"]),
)
def test_boundaries_are_the_thresholds_of_the_bounds(radius, alpha, batch_size, looks, method):
    b = boundaries(
        radius=radius,
        sigma=0.5,
        alpha=alpha,
        batch_size=batch_size,
        n_max=batch_size * looks,
        method=method,
    )
    ns, kc, kf = b.checkpoints, b.k_certify, b.k_futile
    assert (np.diff(ns) > 0).all()
    assert ((kf >= -1) & (kf < kc) & (kc <= ns + 1)).all()
    assert (np.diff(kc) >= 0).all() and (np.diff(kf) >= 0).all()  # monotone in n
    if method == "betabinomial_cs":

        def ends(k, n):
            return padded(betabinomial_cs, k, n, alpha=alpha, prior=b.prior)
    else:

        def ends(k, n):
            return padded(rstheory.cp_lower, k, n, alpha=alpha)[0], padded(
                rstheory.cp_upper, k, n, alpha=alpha
            )[0]

    has_c, has_f = kc <= ns, kf >= 0
    low, _ = ends(np.minimum(kc, ns), ns)
    assert (low[has_c] >= b.p_star).all()
    low_below, _ = ends(np.clip(kc - 1, 0, ns), ns)
    assert (low_below[kc >= 1] < b.p_star).all()
    _, high = ends(np.maximum(kf, 0), ns)
    assert (high[has_f] < b.p_star).all()
    _, high_above = ends(np.minimum(kf + 1, ns), ns)
    assert (high_above[kf + 1 <= ns] >= b.p_star).all()


def test_checkpoints_and_target():
    assert checkpoints(batch_size=100, n_max=350).tolist() == [100, 200, 300, 350]
    assert checkpoints(batch_size=100, n_max=300).tolist() == [100, 200, 300]
    assert checkpoints(batch_size=500, n_max=30).tolist() == [30]
    assert target_probability(radius=0.5, sigma=0.5) == pytest.approx(
        scipy.stats.norm.cdf(1.0), rel=RTOL_ONE_ROUNDING
    )
    a, b = default_prior(0.9, size=20)
    assert (a, b) == pytest.approx((18.0, 2.0))


# ------------------------------------------------------------------------ plans


def test_certified_fraction_grows_with_n_max_and_matches_fixed():
    dist = distributions.Beta(8, 2)
    kw = dict(radius=0.25, sigma=0.5, alpha=0.001, batch_size=100)
    small = sequential_plan(dist, **kw, n_max=1000)
    big = sequential_plan(dist, **kw, n_max=3000)
    assert big.certified_fraction >= small.certified_fraction
    assert big.expected_samples >= small.expected_samples
    c = compare_fixed(dist, **kw, n=1000)
    fixed = float(
        rstheory.scaling.certified_accuracy(dist, 1000, radius=0.25, alpha=0.001, sigma=0.5)
    )
    assert c.matched and c.fixed_n == 1000
    assert c.fixed_certified_fraction == pytest.approx(fixed, rel=RTOL_SAME_COMPUTATION)
    assert c.certified_fraction >= fixed - 1e-12
    assert c.n_max % 100 == 0
    prev = sequential_plan(dist, **kw, n_max=c.n_max - 100)
    assert prev.certified_fraction < fixed  # smallest such n_max
    again = sequential_plan(dist, **kw, n_max=c.n_max)
    assert again.expected_samples == pytest.approx(c.expected_samples, rel=RTOL_SAME_COMPUTATION)
    assert c.ratio == pytest.approx(1000 / c.expected_samples)
    assert c.ratio > 1.5


def test_compare_fixed_from_an_accuracy_target():
    dist = distributions.Beta(8, 2)
    plan = rstheory.planning.required_samples(
        dist, alpha=0.001, sigma=0.5, target_accuracy=0.6, at_radius=0.25
    )
    c = compare_fixed(dist, radius=0.25, sigma=0.5, alpha=0.001, batch_size=50, target_accuracy=0.6)
    assert c.fixed_n == plan.n
    assert c.fixed_certified_fraction >= 0.6
    assert c.certified_fraction >= c.fixed_certified_fraction - 1e-12


def test_compare_fixed_unmatched_within_max_factor():
    # At n_max = n the confidence sequence is wider than the fixed-n Clopper-Pearson bound,
    # so with max_factor = 1 the sequential fraction stays below the fixed one.
    c = compare_fixed(
        distributions.Beta(8, 2),
        radius=0.25,
        sigma=0.5,
        alpha=0.001,
        batch_size=100,
        n=20_000,
        max_factor=1,
    )
    assert not c.matched
    assert c.n_max == 20_000


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(radius=0.0), "radius"),
        (dict(radius=-1.0), "radius"),
        (dict(radius=40.0), "too large"),
        (dict(sigma=0.0), "sigma"),
        (dict(alpha=1.0), "alpha"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(n_max=0), "n_max"),
        (dict(prior=(0.0, 1.0)), "prior"),
        (dict(prior="x"), "prior"),
        (dict(method="wald"), "method"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(SMALL) | kwargs
    with pytest.raises(ValueError, match=match):
        boundaries(**args)


def test_bad_arguments_of_plans():
    dist = distributions.Beta(8, 2)
    b = boundaries(**SMALL)
    with pytest.raises(ValueError, match="p must lie"):
        operating_characteristics(1.5, bounds=b)
    with pytest.raises(ValueError, match="bounds"):
        operating_characteristics(0.5, bounds=(1, 2))
    with pytest.raises(ValueError, match="quadrature"):
        sequential_plan(object(), radius=0.25, sigma=0.5, alpha=0.001, batch_size=10, n_max=100)
    kw = dict(radius=0.25, sigma=0.5, alpha=0.001, batch_size=100)
    with pytest.raises(ValueError, match="exactly one of n and target_accuracy"):
        compare_fixed(dist, **kw)
    with pytest.raises(ValueError, match="exactly one of n and target_accuracy"):
        compare_fixed(dist, **kw, n=100, target_accuracy=0.5)
    with pytest.raises(ValueError, match="max_factor"):
        compare_fixed(dist, **kw, n=100, max_factor=0.5)
    with pytest.raises(ValueError, match="n must be"):
        compare_fixed(dist, **kw, n=0)


# ------------------------------------------------------------------------ heavier


@pytest.mark.slow
@pytest.mark.parametrize("p", [0.83, 0.845, 0.87, 0.95])
def test_recursion_matches_monte_carlo_large(p):
    b = boundaries(radius=0.5, sigma=0.5, alpha=0.001, batch_size=100, n_max=20_000)
    oc = operating_characteristics(p, bounds=b)
    used, cert, fut = simulate(p, b, paths=200_000, seed=int(p * 1e4))
    assert z_mean(used.astype(float), float(oc.expected_samples)) < Z_TWO
    assert z_prop(cert, float(oc.certify)) < Z_TWO
    assert z_prop(fut, float(oc.futility)) < Z_TWO


@pytest.mark.slow
def test_type_one_error_by_monte_carlo_direct_rule():
    kw = dict(radius=0.25, sigma=0.5, alpha=0.05, batch_size=5, n_max=500)
    prior = default_prior(target_probability(radius=0.25, sigma=0.5))
    p = target_probability(radius=0.25, sigma=0.5) - 1e-9
    _, cert = simulate_cs(p, **kw, prior=prior, paths=40_000, seed=5)
    assert cert.mean() <= 0.05 + Z_ONE * math.sqrt(0.05 * 0.95 / cert.size)
