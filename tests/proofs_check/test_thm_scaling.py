"""Scaling-law checks: they pass for rstheory and fail for wrong formulas or perturbed values."""

import mpmath
import numpy as np
import pytest
import scipy.special
import sympy as sp

import proofs_check
from proofs_check import thm_scaling
from rstheory import scaling
from rstheory.distributions import PointMass, Uniform
from tests.tolerances import RTOL_MP_VS_SCIPY_BETAINCINV


def _perturbed(fn, delta):
    """``fn`` with ``delta`` added to every value it returns."""

    def wrong(*args, **kwargs):
        return np.asarray(fn(*args, **kwargs)) + delta

    return wrong


def test_all_scaling_theorems_are_registered_with_checks():
    names = {t.name: t for t in proofs_check.theorems() if t.name.startswith("scaling.")}
    assert set(names) == {
        "scaling.radius_cap",
        "scaling.exact_expectation",
        "scaling.first_order_law",
        "scaling.p2_eq1_shore",
        "scaling.p2_eq2_eq3",
        "scaling.first_order_constant",
        "scaling.distribution_free_bound",
        "scaling.distribution_free_exact",
    }
    assert all(t.numeric is not None for t in names.values())


# --------------------------------------------------------------------------- (a) radius cap


def test_cap_symbolic_passes():
    result = thm_scaling.check_cap_symbolic()
    assert result.passed, result.detail


def test_cap_symbolic_rejects_alpha_to_one_over_n_plus_one():
    n, alpha = thm_scaling.CAP_SYMBOLS
    result = thm_scaling.check_cap_symbolic(cap=alpha ** (1 / (n + 1)), max_n=3)
    assert not result.passed
    assert "solves p^n = alpha" in result.detail


def test_cap_numeric_passes_for_rstheory():
    result = thm_scaling.check_cap_numeric(50)
    assert result.passed, result.detail
    assert result.max_error <= thm_scaling.RTOL_CLOSED_FORM


def _cap_n_plus_one(n, *, alpha, sigma):
    return sigma * scipy.special.ndtri(np.power(alpha, 1.0 / (np.asarray(n) + 1.0)))


def test_cap_numeric_rejects_alpha_to_one_over_n_plus_one():
    result = thm_scaling.check_cap_numeric(30, k_ns=(), radius_cap=_cap_n_plus_one)
    assert not result.passed
    assert result.max_error > thm_scaling.RTOL_CLOSED_FORM


def test_cap_numeric_rejects_a_lower_bound_above_the_cap():
    """The point estimate k / n reaches 1 > alpha^(1/n) at k = n."""
    result = thm_scaling.check_cap_numeric(
        30,
        ns=(100,),
        ns_large=(),
        k_ns=(10,),
        cp_lower=lambda k, n, alpha: np.asarray(k) / np.asarray(n),
    )
    assert not result.passed
    assert "L(k, n) > alpha^(1/n)" in result.detail


def test_cap_detail_prints_the_reference_values_without_checking_them():
    result = thm_scaling.check_cap_numeric(30, ns=(25,), ns_large=(), k_ns=())
    for value in thm_scaling.THEORY_CAP.values():
        assert f"({value})" in result.detail


# --------------------------------------------------------------------------- (b) exact expectation


def test_expectation_numeric_passes_for_rstheory():
    result = thm_scaling.check_expectation_numeric(50)
    assert result.passed, result.detail
    assert result.max_error < thm_scaling.ATOL_EXPECTATION


@pytest.mark.parametrize("which", ["expected_radius", "abstain_rate", "certified_accuracy"])
def test_expectation_numeric_rejects_a_perturbation_of_1e_6(which):
    wrong = {which: _perturbed(getattr(scaling, which), 1e-6)}
    result = thm_scaling.check_expectation_numeric(30, ns=(10, 25), **wrong)
    assert not result.passed
    assert result.max_error > thm_scaling.ATOL_EXPECTATION


def test_expectation_numeric_rejects_the_two_sided_level():
    """CP at alpha/2 (a two-sided interval's lower end) certifies less."""

    def two_sided(dist, n, *, alpha, sigma):
        return scaling.expected_radius(dist, n, alpha=alpha / 2, sigma=sigma)

    result = thm_scaling.check_expectation_numeric(30, ns=(25, 100), expected_radius=two_sided)
    assert not result.passed


def test_closed_form_moments_agree_with_mpmath_quad():
    """The reference's two routes over p: beta-binomial moments and mpmath.quad of the sum."""
    with mpmath.workdps(30):
        table = thm_scaling.radius_table_mp(25, 0.001, 0.5)
        for _, mp_dist in thm_scaling.default_dists():
            closed = thm_scaling.expectation_mp(mp_dist, 25, 0.001, 0.5, (0, 0.3), table)
            quad = thm_scaling.expectation_mp(mp_dist, 25, 0.001, 0.5, (0, 0.3), table, quad=True)
            flat_c = [closed[0], closed[1], *closed[2]]
            flat_q = [quad[0], quad[1], *quad[2]]
            for c, q in zip(flat_c, flat_q, strict=True):
                assert abs(c - q) < mpmath.mpf(10) ** -25


def test_moments_sum_to_one_and_match_the_mean():
    with mpmath.workdps(30):
        for _, mp_dist in thm_scaling.default_dists():
            m = mp_dist.moments(12)
            assert abs(mpmath.fsum(m) - 1) < mpmath.mpf(10) ** -25
            mean = mpmath.fsum(k * v for k, v in enumerate(m)) / 12  # E[K/n] = E[p]
            assert abs(mean - mp_dist.quad(lambda p: p)) < mpmath.mpf(10) ** -25


def test_mpmath_cp_lower_agrees_with_scipy():
    with mpmath.workdps(40):
        for k, n in ((10, 10), (23, 25), (90, 100), (250, 250), (199, 250)):
            ref = thm_scaling.cp_lower_mp(k, n, 0.001)
            assert abs(float(ref) / scipy.special.betaincinv(k, n - k + 1, 0.001) - 1) < (
                RTOL_MP_VS_SCIPY_BETAINCINV
            )
        assert thm_scaling.cp_lower_mp(8, 10, 0.001) is None  # L = 0.28 <= 1/2: abstain
        assert thm_scaling.cp_lower_mp(0, 10, 0.001) is None


@pytest.mark.slow
def test_expectation_numeric_passes_with_mpmath_quad_over_p():
    result = thm_scaling.check_expectation_numeric(50, quad=True)
    assert result.passed, result.detail
    assert "mpmath.quad over p" in result.detail


# --------------------------------------------------------------------------- (c) first-order law


def test_first_order_symbolic_passes():
    result = thm_scaling.check_first_order_symbolic()
    assert result.passed, result.detail


def test_first_order_symbolic_rejects_phi_in_place_of_its_inverse():
    result = thm_scaling.check_first_order_symbolic(
        radius=lambda p, t, z, s, f, g: s * (f(p) - z * sp.sqrt(p * (1 - p)) * t * g(f(p)))
    )
    assert not result.passed


def test_first_order_numeric_passes_for_rstheory():
    result = thm_scaling.check_first_order_numeric()
    assert result.passed, result.detail


def test_first_order_numeric_rejects_the_two_sided_quantile():
    """The two-sided z = Phi^-1(1 - alpha/2) of Seferis et al. (2024) leaves an
    O(1/sqrt(n)) bias: slope near -1/2."""

    def two_sided(p, n, *, alpha, sigma):
        return scaling.first_order_radius(p, n, alpha=alpha, sigma=sigma, two_sided=True)

    result = thm_scaling.check_first_order_numeric(ps=(0.9,), first_order_radius=two_sided)
    assert not result.passed
    assert result.max_error > 0.3


# --------------------------------------------------------------------------- (d) Eq. (1)


def test_shore_symbolic_passes_and_rejects_the_printed_exponent():
    assert thm_scaling.check_shore_symbolic().passed
    result = thm_scaling.check_shore_symbolic(sp.Rational(-27, 200))
    assert not result.passed
    assert "match" in result.detail


def test_shore_numeric_passes_for_rstheory():
    result = thm_scaling.check_shore_numeric(50)
    assert result.passed, result.detail
    assert "1.1015" in result.detail and "1.1658" in result.detail


def test_shore_numeric_rejects_an_implementation_that_ignores_the_exponent():
    def fixed(p, n, *, alpha, sigma, exponent):
        del exponent
        return scaling.shore_radius(p, n, alpha=alpha, sigma=sigma)

    result = thm_scaling.check_shore_numeric(30, shore_radius=fixed)
    assert not result.passed


def test_shore_numeric_rejects_the_one_sided_quantile():
    def one_sided(p, n, *, alpha, sigma, exponent):
        return scaling.shore_radius(p, n, alpha=2 * alpha, sigma=sigma, exponent=exponent)

    result = thm_scaling.check_shore_numeric(30, shore_radius=one_sided)
    assert not result.passed


# --------------------------------------------------------------------------- (e) Eqs. (2), (3), K


def test_eq3_symbolic_passes_and_rejects_a_wrong_bound():
    assert thm_scaling.check_eq3_symbolic().passed
    assert not thm_scaling.check_eq3_symbolic(bound=lambda z, n: z / (2 * sp.sqrt(n))).passed


def test_eq2_eq3_numeric_passes_for_rstheory():
    result = thm_scaling.check_eq2_eq3_numeric(50)
    assert result.passed, result.detail


def test_eq2_numeric_rejects_the_constant_1_645():
    def wrong(n, *, alpha):
        return 1 - 1.645 * scipy.special.ndtri(1 - alpha / 2) / np.sqrt(np.asarray(n, dtype=float))

    result = thm_scaling.check_eq2_eq3_numeric(30, average_radius_ratio=wrong)
    assert not result.passed


def test_eq3_numeric_rejects_the_one_sided_quantile():
    def wrong(n, *, alpha):
        return scipy.special.ndtri(1 - alpha) / np.sqrt(np.asarray(n, dtype=float))

    result = thm_scaling.check_eq2_eq3_numeric(30, accuracy_drop_bound=wrong)
    assert not result.passed


def test_constant_symbolic_passes():
    result = thm_scaling.check_constant_symbolic()
    assert result.passed, result.detail


def test_constant_numeric_passes_for_rstheory():
    result = thm_scaling.check_constant_numeric(50)
    assert result.passed, result.detail
    assert "2.024" in result.detail and "1.64" in result.detail


def test_constant_numeric_rejects_a_relative_error_of_1e_6():
    def wrong(dist):
        return scaling.first_order_constant(dist) * (1 + 1e-6)

    result = thm_scaling.check_constant_numeric(30, first_order_constant=wrong)
    assert not result.passed


def test_constant_substitution_agrees_with_the_definition_in_p():
    """constant_mp integrates over x = Phi^-1(p); the direct integral over p must agree (to
    1e-15: tanh-sinh over p meets the 1/sqrt(1 - p) singularity at p = 1)."""
    with mpmath.workdps(30):
        for low, high in ((0.6, 0.99), (0.5, 1)):
            num = mpmath.quad(lambda p: thm_scaling.k_parts_mp(p)[0], [low, high])
            den = mpmath.quad(lambda p: thm_scaling.k_parts_mp(p)[1], [low, high])
            assert abs(num / den / thm_scaling.constant_mp((low, high)) - 1) < mpmath.mpf(10) ** -15


def test_uniform_half_one_mean_quantile_is_two_phi_zero():
    """numerically: E_U[0.5,1][Phi^-1(p)] = 2 phi(0) = 0.79788 (scaling.first_order_constant)."""
    with mpmath.workdps(30):
        mean = 2 * mpmath.quad(thm_scaling.phi_inverse_mp, [0.5, 1])
        assert abs(mean - 2 / mpmath.sqrt(2 * mpmath.pi)) < mpmath.mpf(10) ** -20


# --------------------------------------------------------------------------- (f) distribution-free


def test_distribution_free_symbolic_passes():
    result = thm_scaling.check_distribution_free_symbolic()
    assert result.passed, result.detail


def test_distribution_free_numeric_passes_for_rstheory():
    result = thm_scaling.check_distribution_free_numeric(50)
    assert result.passed, result.detail


def test_distribution_free_numeric_rejects_the_infimum_of_k():
    def inf_k(n, *, alpha, beta, p_max, two_sided=False):
        grid = np.linspace(beta, p_max, 4097)
        k = np.sqrt(grid * (1 - grid)) / (
            np.exp(-(scipy.special.ndtri(grid) ** 2) / 2)
            / np.sqrt(2 * np.pi)
            * scipy.special.ndtri(grid)
        )
        z = scipy.special.ndtri(1 - alpha / 2 if two_sided else 1 - alpha)
        return 1 - k.min() * z / np.sqrt(np.asarray(n, dtype=float))

    result = thm_scaling.check_distribution_free_numeric(30, distribution_free_ratio=inf_k)
    assert not result.passed


def test_sup_k_is_at_an_end_and_bounds_a_grid():
    with mpmath.workdps(30):
        for beta, p_max in thm_scaling.INTERVALS:
            sup, at = thm_scaling.sup_k_mp(beta, p_max)
            assert at in (mpmath.mpf(beta), mpmath.mpf(p_max))
            for p in np.linspace(beta, p_max, 33):
                assert thm_scaling.k_pointwise_mp(p) <= sup * (1 + mpmath.mpf(10) ** -25)


def test_distribution_free_exact_passes_for_rstheory():
    result = thm_scaling.check_distribution_free_exact(50)
    assert result.passed, result.detail
    assert result.max_error > 0  # the first-order bound is not met exactly at PointMass(0.7)


def test_distribution_free_exact_rejects_a_radius_one_percent_low():
    def low(dist, n, *, alpha, sigma):
        return 0.99 * np.asarray(scaling.expected_radius(dist, n, alpha=alpha, sigma=sigma))

    result = thm_scaling.check_distribution_free_exact(30, expected_radius=low)
    assert not result.passed


def test_distribution_free_exact_rejects_a_bound_that_is_too_high():
    """The bound of a narrower interval (sup K = 1.3 on [0.93, 0.96]) overstates the ratio."""

    def too_high(n, *, alpha, beta, p_max, two_sided=False):
        return scaling.distribution_free_ratio(n, alpha=alpha, beta=0.93, p_max=0.96)

    result = thm_scaling.check_distribution_free_exact(
        30,
        dists=[("PointMass(0.7)", PointMass(0.7)), ("U", Uniform(0.7, 0.99))],
        distribution_free_ratio=too_high,
    )
    assert not result.passed


# --------------------------------------------------------------------------- hygiene


def test_checks_leave_global_mpmath_precision_alone():
    before = mpmath.mp.dps
    thm_scaling.check_shore_numeric(30, ps=(0.9,), ns=(100,))
    thm_scaling.check_expectation_numeric(30, ns=(10,))
    assert mpmath.mp.dps == before


def test_registry_runs_the_scaling_theorems():
    reports = proofs_check.run_all(dps=30, names=["scaling.p2_eq2_eq3", "scaling.radius_cap"])
    assert all(r.passed for r in reports), [r.numeric.detail for r in reports]


@pytest.mark.slow
def test_scaling_checks_pass_at_80_digits():
    for check in (
        thm_scaling.check_cap_numeric,
        thm_scaling.check_expectation_numeric,
        thm_scaling.check_shore_numeric,
        thm_scaling.check_constant_numeric,
    ):
        result = check(80)
        assert result.passed, result.detail
