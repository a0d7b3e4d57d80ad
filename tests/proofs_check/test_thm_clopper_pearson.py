"""Clopper-Pearson checks: they pass for rstheory and for scipy, fail for wrong bounds, and
their mpmath tails agree with exact rational arithmetic."""

from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import stats

from proofs_check import thm_clopper_pearson as cp
from tests.tolerances import RTOL_CP_REFERENCE, RTOL_CP_VS_SCIPY


def _scipy_lower(k, n, alpha):
    k, n, alpha = np.broadcast_arrays(k, n, alpha)
    with np.errstate(all="ignore"):
        q = stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1)
    return np.where(k == 0, 0.0, q)


def _scipy_upper(k, n, alpha):
    k, n, alpha = np.broadcast_arrays(k, n, alpha)
    with np.errstate(all="ignore"):
        q = stats.beta.isf(alpha, k + 1, np.maximum(n - k, 1))
    return np.where(k == n, 1.0, q)


@pytest.mark.parametrize(
    ("k", "n", "p"), [(0, 1, "1/2"), (2, 3, "1/3"), (3, 7, "9/10"), (7, 7, "1/7")]
)
def test_mpmath_tails_equal_exact_rational_sums(k, n, p):
    """The reference tails against Fraction arithmetic: exact, independent of mpmath."""
    pf = Fraction(p)
    ge = sum(comb(n, j) * pf**j * (1 - pf) ** (n - j) for j in range(k, n + 1))
    le = sum(comb(n, j) * pf**j * (1 - pf) ** (n - j) for j in range(0, k + 1))
    with mpmath.workdps(40):
        pm = mpmath.mpf(pf.numerator) / pf.denominator
        tail_ge, _ = cp.binomial_tail_ge(k, n, pm)
        tail_le, _ = cp.binomial_tail_le(k, n, pm)
        assert abs(tail_ge - mpmath.mpf(ge.numerator) / ge.denominator) < mpmath.mpf(10) ** -35
        assert abs(tail_le - mpmath.mpf(le.numerator) / le.denominator) < mpmath.mpf(10) ** -35


def test_mpmath_tail_of_a_large_n_agrees_with_scipy():
    with mpmath.workdps(50):
        tail, _ = cp.binomial_tail_ge(50_500, 100_000, mpmath.mpf("0.5"))
    expected = stats.binom.sf(50_499, 100_000, 0.5)
    assert float(abs(tail - expected) / tail) < RTOL_CP_VS_SCIPY


def test_binomial_tail_is_the_regularized_incomplete_beta_symbolically():
    result = cp.check_tail_is_incomplete_beta()
    assert result.passed, result.detail


def test_rstheory_bounds_solve_the_tail_equation():
    """rstheory.cp_lower / cp_upper put the mpmath tail at alpha, on a grid with every edge."""
    result = cp.check_tail_inversion(50, rtol=RTOL_CP_REFERENCE)
    assert result.passed, result.detail


def test_tail_check_passes_for_scipy_beta_quantiles():
    """An independent implementation passes the same check (so the check is not rigged)."""
    result = cp.check_tail_inversion(
        50, rtol=RTOL_CP_VS_SCIPY, cp_lower=_scipy_lower, cp_upper=_scipy_upper
    )
    assert result.passed, result.detail


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(
            lambda k, n, alpha: _scipy_lower(k, n, 2 * np.asarray(alpha)), id="two-sided-alpha"
        ),
        pytest.param(lambda k, n, alpha: _scipy_lower(k, n, alpha) * (1 + 1e-8), id="off-by-1e-8"),
        pytest.param(
            lambda k, n, alpha: np.where(k == 0, 1e-300, _scipy_lower(k, n, alpha)), id="k0-not-0"
        ),
    ],
)
def test_tail_check_catches_a_wrong_lower_bound(wrong):
    result = cp.check_tail_inversion(
        50, rtol=RTOL_CP_REFERENCE, cp_lower=wrong, cp_upper=_scipy_upper
    )
    assert not result.passed
    assert result.max_error > RTOL_CP_REFERENCE


def test_end_values_derive_symbolically():
    result = cp.check_end_values_symbolic()
    assert result.passed, result.detail


def test_end_value_derivation_rejects_a_wrong_closed_form():
    """L(1, n) = alpha^(1/n) (the k = n form) must not solve P[X >= 1] = alpha."""
    n, alpha = cp._SYMBOLS[:2]
    result = cp.check_end_values_symbolic({"L(1,n)": alpha ** (1 / n)})
    assert not result.passed
    assert "L(1,n)" in result.detail


def test_end_value_numeric_check_catches_one_minus_cancellation():
    """U(0, n) computed as 1 - alpha**(1/n) in float64 loses digits at large n."""

    def naive_upper(k, n, alpha):
        return np.where(
            k == 0, 1 - np.asarray(alpha, dtype=float) ** (1.0 / n), _scipy_upper(k, n, alpha)
        )

    result = cp.check_end_values_numeric(
        50, rtol=RTOL_CP_REFERENCE, cp_lower=_scipy_lower, cp_upper=naive_upper
    )
    assert not result.passed
    assert "U(0,n)" in result.detail


def test_rstheory_end_values_match_closed_forms():
    result = cp.check_end_values_numeric(50, rtol=RTOL_CP_REFERENCE)
    assert result.passed, result.detail


@pytest.mark.slow
def test_rstheory_bounds_solve_the_tail_equation_on_a_dense_grid_at_80_digits():
    result = cp.check_tail_inversion(80, grid=cp.DENSE_GRID, rtol=RTOL_CP_REFERENCE)
    assert result.passed, result.detail


@pytest.mark.slow
def test_binomial_tail_is_the_incomplete_beta_up_to_n_14():
    result = cp.check_tail_is_incomplete_beta(max_n=14)
    assert result.passed, result.detail


def test_symbols_are_declared_with_the_assumptions_the_derivation_needs():
    n, alpha, p, j = cp._SYMBOLS
    assert n.is_integer and n.is_positive
    assert alpha.is_positive and p.is_positive
    assert j.is_integer and j.is_nonnegative
    assert sp.simplify((alpha ** (1 / n)) ** n - alpha) == 0
