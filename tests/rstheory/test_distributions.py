"""Tests of rstheory._distributions: models of Pr(p_A), their quadrature, and the pilot fit.

Independent routes: closed-form moments (scipy.stats.beta.moment, uniform power integrals),
scipy.integrate.quad for smooth expectations, scipy.special.roots_jacobi for the
Golub-Welsch fallback, and simulated pilot counts with known parameters for the fit.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import rstheory
from rstheory import _gauss_jacobi
from rstheory.distributions import (
    Beta,
    Empirical,
    FitResult,
    Mixture,
    PointMass,
    Uniform,
    beta_atoms_log_likelihood,
    fit,
)
from tests.tolerances import (
    ATOL_F64_NEAR_ZERO,
    ATOL_FIT_ATOM_MASS,
    ATOL_FIT_MEAN,
    ATOL_QUADRATURE_ENDPOINT_SINGULAR,
    ATOL_SAMPLE_MOMENT,
    FIT_NOISE_VARIANCE_RATIO,
    RTOL_F64_CLOSED_FORM,
    RTOL_F64_LIBRARY,
    RTOL_QUADRATURE_EXACT,
    RTOL_QUADRATURE_SMOOTH,
)

BETA_PARAMS = [(8.0, 2.0), (0.5, 0.5), (2.0, 30.0), (0.3, 5.0), (50.0, 1.0)]
UNIFORM_PARAMS = [(0.5, 1.0), (0.0, 1.0), (0.7, 0.99), (0.2, 0.3)]
PILOT_CONTINUOUS_MODELS = [Uniform(0.5), Beta(8.0, 2.0), Beta(2.0, 3.0, low=0.5, high=0.99)]


def _example_models():
    return [
        PointMass(0.9),
        Uniform(0.5),
        Beta(8.0, 2.0),
        Beta(2.0, 5.0, low=0.5, high=0.99),
        Mixture([PointMass(0.0), PointMass(1.0), Beta(8.0, 2.0)], [0.1, 0.3, 0.6]),
        Empirical([0.6, 0.9, 0.9, 1.0]),
    ]


def _check_rule(x, w):
    assert x.dtype == np.float64 and w.dtype == np.float64
    assert x.ndim == 1 and x.shape == w.shape
    assert np.all((x >= 0) & (x <= 1)) and np.all(w >= 0)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=RTOL_F64_CLOSED_FORM)


@pytest.mark.parametrize("dist", _example_models(), ids=lambda d: type(d).__name__)
def test_quadrature_is_a_probability_rule_on_unit_interval(dist):
    """Every rule: float64 1-D nodes in [0, 1], weights >= 0 summing to 1."""
    _check_rule(*dist.quadrature())
    _check_rule(*dist.quadrature(5))


@pytest.mark.parametrize("a,b", BETA_PARAMS)
@pytest.mark.parametrize("num", [4, 32])
def test_beta_quadrature_integrates_polynomials_to_degree_2num_minus_1(a, b, num):
    """Gauss-Jacobi with num nodes reproduces E[p^j] = prod_{i<j} (a + i)/(a + b + i), j <= 2 num -
    1.

    scipy.stats.beta.moment is the oracle for j <= 4 only: at higher orders it was observed
    to be off by up to 100% (e.g. j = 40 at a = 2, b = 30), so the product formula is used there.
    """
    x, w = Beta(a, b).quadrature(num)
    for j in range(2 * num):
        exact = np.prod([(a + i) / (a + b + i) for i in range(j)])
        np.testing.assert_allclose(w @ x**j, exact, rtol=RTOL_QUADRATURE_EXACT)
        if j <= 4:
            np.testing.assert_allclose(
                w @ x**j, scipy.stats.beta.moment(j, a, b), rtol=RTOL_QUADRATURE_EXACT
            )


def test_mapped_beta_quadrature_matches_scipy_loc_scale_moments():
    """Beta on [low, high] equals scipy.stats.beta(a, b, loc=low, scale=high - low)."""
    d = Beta(3.0, 1.5, low=0.5, high=0.99)
    x, w = d.quadrature(8)
    for j in range(5):  # scipy's moment is accurate at low orders only (see above)
        ref = scipy.stats.beta.moment(j, 3.0, 1.5, loc=0.5, scale=0.49)
        np.testing.assert_allclose(w @ x**j, ref, rtol=RTOL_QUADRATURE_EXACT)


@pytest.mark.parametrize("low,high", UNIFORM_PARAMS)
def test_uniform_quadrature_integrates_polynomials_to_degree_2num_minus_1(low, high):
    """Gauss-Legendre: E[p^j] = (high^(j+1) - low^(j+1)) / ((j + 1)(high - low)) for j <= 2 num -
    1."""
    num = 10
    x, w = Uniform(low, high).quadrature(num)
    for j in range(2 * num):
        ref = (high ** (j + 1) - low ** (j + 1)) / ((j + 1) * (high - low))
        np.testing.assert_allclose(w @ x**j, ref, rtol=RTOL_QUADRATURE_EXACT)


def test_beta_quadrature_large_parameters_falls_back_to_golub_welsch():
    """a + b beyond ~1000 overflows roots_jacobi's weights; the fallback still gives the moments."""
    a, b = 1e6, 1e5
    x, w = Beta(a, b).quadrature(16)
    _check_rule(x, w)
    for j in range(1, 6):
        exact = np.prod([(a + i) / (a + b + i) for i in range(j)])
        np.testing.assert_allclose(w @ x**j, exact, rtol=RTOL_QUADRATURE_EXACT)


def test_golub_welsch_matches_roots_jacobi_at_moderate_parameters():
    """The fallback rule equals scipy.special.roots_jacobi (normalized) where the latter is
    finite."""
    x_gw, w_gw = _gauss_jacobi.gauss_jacobi_golub_welsch(20, 1.0, 7.0)
    x_sp, w_sp = scipy.special.roots_jacobi(20, 1.0, 7.0)
    np.testing.assert_allclose(x_gw, x_sp, rtol=0, atol=RTOL_QUADRATURE_EXACT)
    np.testing.assert_allclose(w_gw, w_sp / w_sp.sum(), rtol=0, atol=RTOL_QUADRATURE_EXACT)


@pytest.mark.parametrize(
    "dist,pdf,lo,hi",
    [
        (Uniform(0.5, 0.99), lambda p: 1 / 0.49, 0.5, 0.99),
        (
            Beta(8.0, 2.0, low=0.5, high=0.99),
            lambda p: scipy.stats.beta.pdf(p, 8.0, 2.0, loc=0.5, scale=0.49),
            0.5,
            0.99,
        ),
        (
            Beta(4.0, 4.0, low=0.6, high=0.95),
            lambda p: scipy.stats.beta.pdf(p, 4.0, 4.0, loc=0.6, scale=0.35),
            0.6,
            0.95,
        ),
    ],
    ids=["uniform", "beta82", "beta44"],
)
def test_quadrature_of_normal_quantile_matches_scipy_quad(dist, pdf, lo, hi):
    """E[Phi^-1(p)] (the radius per sigma) and E[sqrt(p(1-p))/phi(Phi^-1(p))] agree with quad."""
    fs = [
        scipy.stats.norm.ppf,
        lambda p: np.sqrt(p * (1 - p)) / scipy.stats.norm.pdf(scipy.stats.norm.ppf(p)),
    ]
    x, w = dist.quadrature(64)
    for f in fs:
        ref, _ = scipy.integrate.quad(
            lambda p, f=f: f(p) * pdf(p), lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200
        )
        np.testing.assert_allclose(w @ f(x), ref, rtol=RTOL_QUADRATURE_SMOOTH)


def test_uniform_half_to_one_normal_quantile_mean_is_2_phi0():
    """E[Phi^-1(p)] = 2 phi(0) = 0.79788 under U[0.5, 1] (derived for this project); the p = 1
    singularity
    limits the 64-node rule to ATOL_QUADRATURE_ENDPOINT_SINGULAR, and more nodes do better."""
    f = scipy.stats.norm.ppf
    exact = 2 * scipy.stats.norm.pdf(0.0)
    errs = [abs(Uniform(0.5).expect(f, num) - exact) for num in (16, 64, 256)]
    assert errs[1] <= ATOL_QUADRATURE_ENDPOINT_SINGULAR
    assert errs[0] > errs[1] > errs[2]


def test_atoms_are_exact_single_nodes_in_quadrature():
    """An atom is one node with its mass: E[f] is exact for any f, even a discontinuous one."""
    d = Mixture([PointMass(0.0), PointMass(1.0), Beta(8.0, 2.0)], [0.1, 0.3, 0.6])
    x, w = d.quadrature(32)
    np.testing.assert_array_equal(w[x == 0.0], [0.1])
    np.testing.assert_array_equal(w[x == 1.0], [0.3])
    step = lambda p: (p >= 1.0).astype(np.float64)
    assert w @ step(x) == 0.3
    locs, masses = d.atoms()
    np.testing.assert_array_equal(locs, [0.0, 1.0])
    np.testing.assert_allclose(masses, [0.1, 0.3], rtol=RTOL_F64_CLOSED_FORM)


def test_mixture_merges_atoms_and_weighs_mean_cdf_density():
    """Mixture mean, variance, cdf and density are the weighted sums over components."""
    comps = [PointMass(0.9), Uniform(0.5), Beta(8.0, 2.0), Empirical([0.9, 0.95])]
    wts = [0.2, 0.3, 0.4, 0.1]
    d = Mixture(comps, wts)
    p = jnp.linspace(-0.1, 1.1, 25)
    ref_cdf = sum(w * np.asarray(c.cdf(p)) for c, w in zip(comps, wts, strict=True))
    ref_den = sum(w * np.asarray(c.density(p)) for c, w in zip(comps, wts, strict=True))
    np.testing.assert_allclose(
        d.cdf(p), ref_cdf, rtol=RTOL_F64_CLOSED_FORM, atol=ATOL_F64_NEAR_ZERO
    )
    np.testing.assert_allclose(
        d.density(p), ref_den, rtol=RTOL_F64_CLOSED_FORM, atol=ATOL_F64_NEAR_ZERO
    )
    ref_mean = sum(w * float(c.mean()) for c, w in zip(comps, wts, strict=True))
    np.testing.assert_allclose(float(d.mean()), ref_mean, rtol=RTOL_F64_CLOSED_FORM)
    x, w = d.quadrature(32)
    np.testing.assert_allclose(w @ x, ref_mean, rtol=RTOL_QUADRATURE_EXACT)
    np.testing.assert_allclose(
        w @ (x - ref_mean) ** 2, float(d.variance()), rtol=RTOL_QUADRATURE_EXACT
    )
    locs, masses = d.atoms()  # 0.9 from PointMass and Empirical merged
    np.testing.assert_array_equal(locs, [0.9, 0.95])
    np.testing.assert_allclose(masses, [0.2 + 0.05, 0.05], rtol=RTOL_F64_CLOSED_FORM)


def test_cdf_and_density_against_scipy():
    """Beta/Uniform cdf and density equal scipy.stats on and off the support, float64, shape
    kept."""
    p = np.linspace(-0.2, 1.2, 57).reshape(3, 19)
    b = Beta(3.0, 1.5, low=0.5, high=0.99)
    cdf = b.cdf(p)
    assert cdf.dtype == jnp.float64 and cdf.shape == p.shape
    np.testing.assert_allclose(
        cdf,
        scipy.stats.beta.cdf(p, 3.0, 1.5, loc=0.5, scale=0.49),
        rtol=RTOL_F64_LIBRARY,
        atol=ATOL_F64_NEAR_ZERO,
    )
    np.testing.assert_allclose(
        b.density(p), scipy.stats.beta.pdf(p, 3.0, 1.5, loc=0.5, scale=0.49), rtol=RTOL_F64_LIBRARY
    )
    u = Uniform(0.5)
    np.testing.assert_allclose(
        u.cdf(p), scipy.stats.uniform.cdf(p, 0.5, 0.5), rtol=RTOL_F64_CLOSED_FORM
    )
    np.testing.assert_allclose(PointMass(0.9).cdf(p), (p >= 0.9).astype(float))
    np.testing.assert_array_equal(PointMass(0.9).density(p), np.zeros_like(p))


def test_closed_form_means_and_variances():
    """mean() and variance() of Beta and Uniform equal scipy.stats."""
    np.testing.assert_allclose(float(Beta(8.0, 2.0).mean()), 0.8, rtol=RTOL_F64_CLOSED_FORM)
    np.testing.assert_allclose(
        float(Beta(8.0, 2.0).variance()), scipy.stats.beta.var(8, 2), rtol=RTOL_F64_CLOSED_FORM
    )
    np.testing.assert_allclose(
        float(Uniform(0.7, 0.9).variance()), 0.2**2 / 12, rtol=RTOL_F64_CLOSED_FORM
    )


@pytest.mark.parametrize("dist", _example_models(), ids=lambda d: type(d).__name__)
def test_sample_moments_match_quadrature(dist):
    """Mean and second moment of 200,000 draws (fixed key) agree with the quadrature within
    ATOL_SAMPLE_MOMENT (>= 4.5 Monte Carlo standard errors)."""
    s = dist.sample(jax.random.key(0), (400, 500))
    assert s.shape == (400, 500) and s.dtype == jnp.float64
    np.testing.assert_array_equal(
        s, dist.sample(jax.random.key(0), (400, 500))
    )  # same key, same draws
    s = np.asarray(s)
    assert np.all((s >= 0) & (s <= 1))
    x, w = dist.quadrature(32)
    np.testing.assert_allclose(s.mean(), w @ x, rtol=0, atol=ATOL_SAMPLE_MOMENT)
    np.testing.assert_allclose((s**2).mean(), w @ x**2, rtol=0, atol=ATOL_SAMPLE_MOMENT)


def test_empirical_from_counts_is_atoms_at_k_over_n():
    """from_counts(k, n) puts mass 1/N at each k_i / n_i (duplicates merged); scalar n
    broadcasts."""
    d = Empirical.from_counts(np.array([45, 50, 45, 0]), np.array([50, 50, 50, 25]))
    locs, masses = d.atoms()
    np.testing.assert_array_equal(locs, [0.0, 0.9, 1.0])
    np.testing.assert_array_equal(masses, [0.25, 0.5, 0.25])
    np.testing.assert_allclose(float(d.mean()), (0.9 * 2 + 1.0) / 4, rtol=RTOL_F64_CLOSED_FORM)
    np.testing.assert_array_equal(Empirical.from_counts([1, 2], 4).p, [0.25, 0.5])
    np.testing.assert_allclose(d.cdf(jnp.array([0.0, 0.5, 0.9, 1.0])), [0.25, 0.25, 0.75, 1.0])
    x, _ = d.quadrature()
    np.testing.assert_array_equal(x, locs)


def test_models_are_immutable():
    d = Beta(8.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.a = 3.0
    e = Empirical([0.5, 0.6])
    with pytest.raises(ValueError):
        e.p[0] = 0.1


def _simulate_pilot(seed, *, a, b, w0, w1, num_inputs, n):
    rng = np.random.default_rng(seed)
    u = rng.random(num_inputs)
    p = np.where(u < w0, 0.0, np.where(u < w0 + w1, 1.0, rng.beta(a, b, num_inputs)))
    return rng.binomial(n, p), p


def test_fit_reaches_at_least_the_true_likelihood_and_recovers_the_mean():
    """a=8, b=2, w0=0.1, w1=0.3, 500 inputs at n=100: the MLE's log-likelihood is >= the one at
    the true parameters, and the fitted mean is within ATOL_FIT_MEAN of the true mean 0.78."""
    k, _ = _simulate_pilot(1, a=8.0, b=2.0, w0=0.1, w1=0.3, num_inputs=500, n=100)
    res = fit(k, 100)
    assert isinstance(res, FitResult) and res.converged
    assert res.log_likelihood >= beta_atoms_log_likelihood(k, 100, a=8.0, b=2.0, w0=0.1, w1=0.3)
    np.testing.assert_allclose(
        res.log_likelihood,
        beta_atoms_log_likelihood(k, 100, a=res.a, b=res.b, w0=res.w0, w1=res.w1),
        rtol=RTOL_F64_CLOSED_FORM,
    )
    np.testing.assert_allclose(
        float(res.distribution.mean()), 0.3 + 0.6 * 0.8, rtol=0, atol=ATOL_FIT_MEAN
    )
    # masses of the atoms: binomial standard errors sqrt(w(1-w)/500) are 0.013 and 0.020
    np.testing.assert_allclose([res.w0, res.w1], [0.1, 0.3], rtol=0, atol=ATOL_FIT_ATOM_MASS)
    _check_rule(*res.distribution.quadrature(32))


def test_fit_is_not_fooled_by_binomial_noise():
    """All inputs at p = 0.9 exactly, n = 50: the naive variance of k/n is pure binomial noise;
    the fitted Beta part keeps under FIT_NOISE_VARIANCE_RATIO of it, centred at 0.9."""
    rng = np.random.default_rng(2)
    k = rng.binomial(50, np.full(500, 0.9))
    res = fit(k, 50)
    beta_part = res.distribution.components[2]
    assert float(beta_part.variance()) < FIT_NOISE_VARIANCE_RATIO * np.var(k / 50)
    np.testing.assert_allclose(float(res.distribution.mean()), 0.9, rtol=0, atol=ATOL_FIT_MEAN)


@pytest.mark.slow
def test_fit_beta_model_has_no_atoms():
    k, _ = _simulate_pilot(3, a=4.0, b=2.0, w0=0.0, w1=0.0, num_inputs=200, n=40)
    res = fit(k, np.full(200, 40), model="beta")
    assert res.w0 == 0.0 and res.w1 == 0.0
    assert res.distribution.atoms()[0].size == 0
    np.testing.assert_allclose(float(res.distribution.mean()), 4 / 6, rtol=0, atol=ATOL_FIT_MEAN)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_fit_likelihood_dominates_truth_over_seeds(seed):
    """The MLE property over several simulated pilots with per-input n."""
    k, _ = _simulate_pilot(10 + seed, a=3.0, b=1.0, w0=0.05, w1=0.2, num_inputs=400, n=60)
    res = fit(k, 60)
    assert res.log_likelihood >= beta_atoms_log_likelihood(k, 60, a=3.0, b=1.0, w0=0.05, w1=0.2)


def test_beta_atoms_log_likelihood_matches_scipy_betabinom():
    """Without atoms the likelihood is the beta-binomial pmf (scipy.stats.betabinom)."""
    k, n = np.array([0, 3, 7, 10]), np.array([10, 10, 10, 12])
    got = beta_atoms_log_likelihood(k, n, a=2.5, b=0.7, w0=0.0, w1=0.0)
    np.testing.assert_allclose(
        got, scipy.stats.betabinom.logpmf(k, n, 2.5, 0.7).sum(), rtol=RTOL_F64_LIBRARY
    )
    mix = beta_atoms_log_likelihood(k, n, a=2.5, b=0.7, w0=0.1, w1=0.2)
    pmf = 0.7 * scipy.stats.betabinom.pmf(k, n, 2.5, 0.7) + 0.1 * (k == 0) + 0.2 * (k == n)
    np.testing.assert_allclose(mix, np.log(pmf).sum(), rtol=RTOL_F64_LIBRARY)


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: PointMass(1.5), "p"),
        (lambda: PointMass(float("nan")), "p"),
        (lambda: Uniform(-0.1), "low"),
        (lambda: Uniform(0.5, 1.2), "high"),
        (lambda: Uniform(0.7, 0.6), "high"),
        (lambda: Beta(0.0, 1.0), "a"),
        (lambda: Beta(1.0, -2.0), "b"),
        (lambda: Beta(1.0, 1.0, low=0.5, high=0.5), "high"),
        (lambda: Mixture([], []), "components"),
        (lambda: Mixture([Uniform(0.5)], [0.5]), "weights"),
        (lambda: Mixture([Uniform(0.5), PointMass(1.0)], [1.2, -0.2]), "weights"),
        (lambda: Mixture([Uniform(0.5), 0.3], [0.5, 0.5]), "components"),
        (lambda: Empirical([0.5, 1.1]), "p"),
        (lambda: Empirical([]), "p"),
        (lambda: Empirical.from_counts([5, 11], 10), "k"),
        (lambda: Empirical.from_counts([5, 1], [10, 0]), "n"),
        (lambda: Uniform(0.5).quadrature(0), "num"),
        (lambda: Uniform(0.5).quadrature(2.5), "num"),
        (lambda: fit([5], [10]), "k"),
        (lambda: fit([5, 3], [10, 10, 10]), "n"),
        (lambda: fit([5.0, 3.0], [10, 10]), "k"),
        (lambda: fit([5, -1], [10, 10]), "k"),
        (lambda: fit([5, 12], [10, 10]), "k"),
        (lambda: fit([5, 0], [10, 0]), "n"),
        (lambda: fit([[5, 3]], [10, 10]), "k"),
        (lambda: fit([5, 3], 10, model="beta+atoms"), "model"),
        (lambda: beta_atoms_log_likelihood([1, 2], 3, a=1.0, b=1.0, w0=0.6, w1=0.6), "w0 + w1"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=rf"^{name.replace('+', '[+]')} "):
        make()


def test_public_names():
    assert rstheory.distributions.fit is fit
    assert "distributions" in rstheory.__all__


@pytest.mark.parametrize(
    ("make", "want"),
    [
        (
            lambda: fit([], []),
            "k and n must hold at least 2 count pairs (k_i, n_i) for fit, one per input; got 0",
        ),
        (
            lambda: fit([], 10),
            "k and n must hold at least 2 count pairs (k_i, n_i) for fit, one per input; got 0",
        ),
        (
            lambda: fit([5], [10]),
            "k and n must hold at least 2 count pairs (k_i, n_i) for fit, one per input; got 1",
        ),
        (
            lambda: beta_atoms_log_likelihood([], [], a=1.0, b=1.0, w0=0.0, w1=0.0),
            "k and n must hold at least 1 count pair (k_i, n_i) for beta_atoms_log_likelihood, "
            "one per input; got 0",
        ),
        (
            lambda: Empirical.from_counts([], []),
            "k and n must hold at least 1 count pair (k_i, n_i), one per input; got 0",
        ),
        (lambda: fit([5, 3], []), "n must be a scalar or have the shape of k (2,), got (0,)"),
        # a real dtype error keeps its message
        (lambda: fit([5.0, 3.0], [10, 10]), "k must be an integer array, got dtype float64"),
        (lambda: fit([5, 3], [10.0, 10.0]), "n must be an integer array, got dtype float64"),
    ],
)
def test_empty_pilot_counts_are_reported_as_empty_not_as_a_float_dtype(make, want):
    """numpy reads [] as an empty float64 array: the emptiness is what is wrong."""
    with pytest.raises(ValueError) as err:
        make()
    assert str(err.value) == want
