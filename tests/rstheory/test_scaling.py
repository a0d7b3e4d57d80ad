"""Tests of rstheory.scaling: exact expectations against brute force, closed forms against
the numbers of Seferis, Kollias & Cheng (2024), ECAI, and against the exact expectations."""

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory import scaling
from tests.tolerances import (
    ATOL_EXPECTED_RADIUS_VS_SCIPY,
    ATOL_THEORY_2_DIGITS,
    ATOL_THEORY_3_DIGITS,
    ATOL_THEORY_4_DIGITS,
    ATOL_THEORY_QUADRATURE,
    RTOL_F64_CLOSED_FORM,
    SLOPE_WINDOW_SCALING,
)

ALPHA = 1e-3
# The sample sizes of the experiments of Seferis, Kollias & Cheng (2024) plus their CIFAR
# reference run.
PAPER_NS = [25, 50, 100, 250, 500, 1000, 10_000]


class Discrete:
    """A distribution of p on finitely many values (an atom per value)."""

    def __init__(self, values, weights=None):
        self.values = np.atleast_1d(np.asarray(values, dtype=np.float64))
        w = np.ones_like(self.values) if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights = w / w.sum()

    def quadrature(self):
        return self.values, self.weights


class Uniform:
    """p ~ U[a, b] by Gauss-Legendre quadrature."""

    def __init__(self, a, b, m=200):
        self.a, self.b, self.m = a, b, m

    def quadrature(self):
        x, w = np.polynomial.legendre.leggauss(self.m)
        return self.a + (self.b - self.a) * (x + 1) / 2, w / 2


def brute_force(p, n, alpha, sigma, radius=0.0):
    """Sum over all k = 0..n with scipy's binomial pmf and beta quantile (independent route).

    Returns (E[R], E[p_lower], P[abstain], P[certified and R >= radius]).
    """
    k = np.arange(n + 1)
    pmf = scipy.stats.binom.pmf(k, n, p)
    with np.errstate(invalid="ignore"):
        pl = np.where(k == 0, 0.0, scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1))
    cert = pl > 0.5
    r = np.where(cert, sigma * scipy.stats.norm.ppf(np.where(cert, pl, 0.75)), 0.0)
    thr = max(radius, np.finfo(float).tiny)
    return pmf @ r, pmf @ pl, pmf[~cert].sum(), pmf[r >= thr].sum()


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.75, 0.9, 0.99, 1.0])
def test_expectations_match_brute_force_small_n(p):
    """All four exact expectations equal a direct sum over k for n = 1..60, including atoms 0, 1."""
    ns = np.arange(1, 61)
    sigma = 0.5
    got = (
        np.asarray(scaling.expected_radius(Discrete(p), ns, alpha=ALPHA, sigma=sigma)),
        np.asarray(scaling.expected_p_lower(Discrete(p), ns, alpha=ALPHA)),
        np.asarray(scaling.abstain_rate(Discrete(p), ns, alpha=ALPHA)),
        np.asarray(
            scaling.certified_accuracy(Discrete(p), ns, radius=0.4, alpha=ALPHA, sigma=sigma)
        ),
    )
    want = np.array([brute_force(p, int(n), ALPHA, sigma, 0.4) for n in ns]).T
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=ATOL_EXPECTED_RADIUS_VS_SCIPY)


@pytest.mark.parametrize("p", [0.0, 0.52, 0.9, 0.995, 1.0])
def test_expected_radius_matches_brute_force_n1000(p):
    """At n = 1000 the windowed sum equals the full sum over k = 0..n (beta.ppf route)."""
    got = float(scaling.expected_radius(Discrete(p), 1000, alpha=ALPHA, sigma=1.0))
    want = brute_force(p, 1000, ALPHA, 1.0)[0]
    assert got == pytest.approx(want, abs=ATOL_EXPECTED_RADIUS_VS_SCIPY)


def test_windowed_sum_equals_full_sum_for_a_mixture():
    """A mixture's expectation is the weighted sum of full brute-force sums (window drops
    nothing)."""
    values, weights = [0.0, 1e-4, 0.6, 0.97, 1.0 - 1e-5, 1.0], [0.1, 0.1, 0.2, 0.3, 0.2, 0.1]
    dist = Discrete(values, weights)
    n = 2000
    got = float(scaling.expected_radius(dist, n, alpha=ALPHA, sigma=1.0))
    want = sum(
        w * brute_force(v, n, ALPHA, 1.0)[0] for v, w in zip(dist.values, dist.weights, strict=True)
    )
    assert got == pytest.approx(want, abs=ATOL_EXPECTED_RADIUS_VS_SCIPY)


@settings(max_examples=10)
@given(p=st.floats(0.6, 0.999))
def test_expected_radius_is_nondecreasing_on_the_paper_grid(p):
    """For a point mass with p in [0.6, 0.999], E[R_n] is non-decreasing over Seferis et al.'s
    (2024) grid of n
    (25, 50, 100, 250, 500, 1000, 1e4); between neighbouring integers it may wiggle."""
    r = np.asarray(scaling.expected_radius(Discrete(p), PAPER_NS, alpha=ALPHA, sigma=1.0))
    assert np.all(np.diff(r) >= 0)


@settings(max_examples=10)
@given(p=st.floats(0.0, 1.0), i=st.integers(0, len(PAPER_NS) - 1))
def test_expected_radius_respects_the_cap(p, i):
    """E[R_n] <= sigma Phi^-1(alpha^(1/n)): no count certifies more than k = n does."""
    n = PAPER_NS[i]
    r = float(scaling.expected_radius(Discrete(p), n, alpha=ALPHA, sigma=0.5))
    cap = float(scaling.radius_cap(n, alpha=ALPHA, sigma=0.5))
    assert r <= max(cap, 0.0) * (1 + RTOL_F64_CLOSED_FORM)


def test_ratio_tends_to_one():
    """E[R_n] / R_inf is within 1% of 1 at n = 1e6 for p = 0.9."""
    r = float(scaling.expected_radius(Discrete(0.9), 10**6, alpha=ALPHA, sigma=1.0))
    ratio = r / scipy.stats.norm.ppf(0.9)
    assert 0.99 < ratio < 1.0


def test_radius_cap_equals_scipy():
    """radius_cap(n) == sigma * scipy.stats.norm.ppf(alpha ** (1 / n))."""
    ns = np.array([1, 2, 10, 25, 100, 1000, 10_000])
    got = np.asarray(scaling.radius_cap(ns, alpha=ALPHA, sigma=0.25))
    want = 0.25 * scipy.stats.norm.ppf(ALPHA ** (1.0 / ns))
    np.testing.assert_allclose(got, want, rtol=RTOL_F64_CLOSED_FORM)


def test_radius_cap_table():
    """R_max / sigma = Phi^-1(alpha^(1/n)) at alpha = 0.001 (proofs_check
    ``scaling.radius_cap``)."""
    ns = [25, 100, 1000, 10**4, 10**5]
    want = [0.7017, 1.5005, 2.4633, 3.1986, 3.8115]
    got = np.asarray(scaling.radius_cap(np.array(ns), alpha=ALPHA, sigma=1.0))
    np.testing.assert_allclose(got, want, atol=ATOL_THEORY_4_DIGITS)


def test_eq2_reproduces_its_values_at_alpha_0001():
    """Eq. (2) of Seferis, Kollias & Cheng (2024) at alpha = 0.001, with independent arithmetic."""
    z = 3.2905267314918945  # Phi^-1(1 - 0.0005), from scipy.stats.norm.isf(5e-4)
    assert z == pytest.approx(scipy.stats.norm.isf(5e-4), rel=RTOL_F64_CLOSED_FORM)
    for n, printed in [
        (25, -0.079),
        (100, 0.460),
        (250, 0.659),
        (500, 0.759),
        (1000, 0.829),
        (10**4, 0.946),
        (10**5, 0.983),
    ]:
        independent = 1 - 1.64 * z / math.sqrt(n)
        got = float(scaling.average_radius_ratio(n, alpha=ALPHA))
        assert got == pytest.approx(independent, rel=RTOL_F64_CLOSED_FORM)
        assert got == pytest.approx(printed, abs=ATOL_THEORY_3_DIGITS)


def test_eq3_reproduces_its_values_at_alpha_0001():
    """Eq. (3): z_2s / sqrt(n) = 0.329 (n = 100), 0.104 (n = 1000)."""
    got = np.asarray(scaling.accuracy_drop_bound(np.array([100, 1000]), alpha=ALPHA))
    np.testing.assert_allclose(got, [0.329, 0.104], atol=ATOL_THEORY_3_DIGITS)


def test_eq1_with_both_exponents():
    """Eq. (1) at p = 0.9, n = 1000: 1.1015 (exponent -0.365), 1.1658 (printed -0.135)."""
    kw = dict(alpha=ALPHA, sigma=1.0)
    assert float(scaling.shore_radius(0.9, 1000, **kw)) == pytest.approx(
        1.1015, abs=ATOL_THEORY_4_DIGITS
    )
    printed = scaling.shore_radius(0.9, 1000, exponent=scaling.SHORE_EXPONENT_PRINTED, **kw)
    assert float(printed) == pytest.approx(1.1658, abs=ATOL_THEORY_4_DIGITS)


def test_first_order_constants_of_uniform_and_point_laws():
    """K = 2.024 under U[0.5, 1], 1.589 under U[0.7, 1]; K(p) = 2.51, 1.70, 1.33, 1.61."""
    assert float(scaling.first_order_constant(Uniform(0.5, 1.0))) == pytest.approx(
        2.024, abs=ATOL_THEORY_QUADRATURE
    )
    assert float(scaling.first_order_constant(Uniform(0.7, 1.0))) == pytest.approx(
        1.589, abs=ATOL_THEORY_QUADRATURE
    )
    for p, k in [(0.7, 2.51), (0.8, 1.70), (0.9, 1.33), (0.99, 1.61)]:
        assert float(scaling.first_order_constant(Discrete(p))) == pytest.approx(
            k, abs=ATOL_THEORY_2_DIGITS
        )


def test_distribution_free_ratio_on_07_099():
    """On [0.7, 0.99] the bound with z_2s is >= 0.738 at n = 1000 and >= 0.917 at n = 1e4."""
    got = scaling.distribution_free_ratio(
        np.array([1000, 10**4]), alpha=ALPHA, beta=0.7, p_max=0.99, two_sided=True
    )
    np.testing.assert_allclose(np.asarray(got), [0.738, 0.917], atol=ATOL_THEORY_3_DIGITS)


def test_distribution_free_ratio_bounds_first_order_ratio():
    """The distribution-free bound is below the first-order ratio of a law on [beta, p_max]."""
    n = np.array([1000, 10**4])
    bound = np.asarray(scaling.distribution_free_ratio(n, alpha=ALPHA, beta=0.7, p_max=0.99))
    k = float(scaling.first_order_constant(Uniform(0.7, 0.99)))
    assert np.all(bound <= 1 - k * scipy.stats.norm.isf(ALPHA) / np.sqrt(n))


def test_exact_ratios_of_uniform_laws_against_eq2():
    """Exact E[R_n] / E[R_inf]: U[0.5,1] 0.486/0.815/0.939; U[0.7,1] 0.544/0.850/0.952;
    U[0.9,1] 0.605/0.864/0.955 at n = 1e2/1e3/1e4; Eq. (2) within 0.03 for n >= 100."""
    rows = scaling.compare_closed_form(
        [Uniform(0.5, 1.0), Uniform(0.7, 1.0), Uniform(0.9, 1.0)],
        [100, 1000, 10**4],
        alpha=ALPHA,
        sigma=0.5,
    )
    want = [0.486, 0.815, 0.939, 0.544, 0.850, 0.952, 0.605, 0.864, 0.955]
    np.testing.assert_allclose([r.exact_ratio for r in rows], want, atol=ATOL_THEORY_QUADRATURE)
    assert all(abs(r.eq2_error) <= 0.03 for r in rows[:3])
    assert all(r.eq2_error == pytest.approx(r.eq2_ratio - r.exact_ratio) for r in rows)


@pytest.mark.parametrize("two_sided, slope", [(False, -1.0), (True, -0.5)])
def test_first_order_error_rate(two_sided, slope):
    """|E[R_n] - first-order R_n| at p = 0.9 decays like 1/n with the one-sided z (the
    right one for a one-sided bound) and like 1/sqrt(n) with Seferis et al.'s (2024) two-sided z.
    Window: n = 2e3 .. 2e5 (p = 0.9 is 40 sd from 1 from n ~ 1e4 on; below, the cap
    alpha^(1/n) is felt)."""
    ns = np.unique(np.round(np.logspace(np.log10(2e3), np.log10(2e5), 7)).astype(int))
    exact = np.asarray(scaling.expected_radius(Discrete(0.9), ns, alpha=ALPHA, sigma=1.0))
    approx = np.asarray(
        scaling.first_order_radius(0.9, ns, alpha=ALPHA, sigma=1.0, two_sided=two_sided)
    )
    fit = scipy.stats.linregress(np.log(ns), np.log(np.abs(exact - approx)))
    assert abs(fit.slope - slope) < SLOPE_WINDOW_SCALING


def test_certified_accuracy_at_zero_is_one_minus_abstain():
    """An abstention is never certified: acc(0) = 1 - abstain rate."""
    dist = Uniform(0.4, 1.0, m=40)
    ns = np.array([30, 300])
    acc = np.asarray(
        scaling.certified_accuracy(dist, ns, radius=[0.0, 0.2], alpha=ALPHA, sigma=0.5)
    )
    ab = np.asarray(scaling.abstain_rate(dist, ns, alpha=ALPHA))
    assert acc.shape == (2, 2)
    np.testing.assert_allclose(acc[:, 0], 1 - ab, atol=ATOL_EXPECTED_RADIUS_VS_SCIPY)
    assert np.all(acc[:, 1] <= acc[:, 0])


@pytest.mark.slow
def test_large_n_200_nodes_is_fast():
    """n = 1e6 with 200 nodes finishes in under 10 s (after the one-off XLA compilation)."""
    import time

    scaling.expected_radius(Discrete(0.9), 10, alpha=ALPHA, sigma=1.0)  # compile outside the timing
    t = time.perf_counter()
    r = float(scaling.expected_radius(Uniform(0.5, 1.0), 10**6, alpha=ALPHA, sigma=1.0))
    assert time.perf_counter() - t < 10
    assert 0 < r <= float(scaling.radius_cap(10**6, alpha=ALPHA, sigma=1.0))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: scaling.radius_cap(0, alpha=ALPHA, sigma=1.0), "n"),
        (lambda: scaling.radius_cap(2.5, alpha=ALPHA, sigma=1.0), "n"),
        (lambda: scaling.radius_cap(10, alpha=1.0, sigma=1.0), "alpha"),
        (lambda: scaling.radius_cap(10, alpha=ALPHA, sigma=0.0), "sigma"),
        (lambda: scaling.expected_radius(Discrete(0.9), 0, alpha=ALPHA, sigma=1.0), "n"),
        (lambda: scaling.expected_radius(Discrete(0.9), 10, alpha=0.0, sigma=1.0), "alpha"),
        (lambda: scaling.expected_radius(Discrete(0.9), 10, alpha=ALPHA, sigma=-1.0), "sigma"),
        (lambda: scaling.expected_radius(Discrete(1.5), 10, alpha=ALPHA, sigma=1.0), "nodes"),
        (
            lambda: scaling.certified_accuracy(
                Discrete(0.9), 10, radius=-1.0, alpha=ALPHA, sigma=1.0
            ),
            "radius",
        ),
        (lambda: scaling.abstain_rate(Discrete(0.9), 7.5, alpha=ALPHA), "n"),
        (lambda: scaling.shore_radius(1.2, 10, alpha=ALPHA, sigma=1.0), "p"),
        (lambda: scaling.first_order_radius(-0.1, 10, alpha=ALPHA, sigma=1.0), "p"),
        (lambda: scaling.average_radius_ratio(0, alpha=ALPHA), "n"),
        (lambda: scaling.accuracy_drop_bound(10, alpha=2.0), "alpha"),
        (lambda: scaling.distribution_free_ratio(10, alpha=ALPHA, beta=0.4, p_max=0.9), "beta"),
        (lambda: scaling.distribution_free_ratio(10, alpha=ALPHA, beta=0.7, p_max=1.0), "p_max"),
        (lambda: scaling.compare_closed_form([Discrete(0.9)], [0], alpha=ALPHA, sigma=1.0), "ns"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
