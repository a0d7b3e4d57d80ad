"""Cohen et al. (2019) Thm 1 checks: they pass for rstheory and fail for wrong formulas."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy.special import ndtri

from proofs_check import thm_radius
from tests.tolerances import RTOL_F64_CLOSED_FORM


def test_two_class_radius_reduces_to_one_class_symbolically():
    result = thm_radius.derive()
    assert result.passed, result.detail


def test_derivation_rejects_a_wrong_radius():
    """A radius missing the factor 2 (sigma/2 Phi^-1(pA)) must not simplify to zero."""
    result = thm_radius.derive(radius=lambda p, s, phi_inv: s / 2 * phi_inv(p))
    assert not result.passed
    assert "sigma Phi^-1(pA)" in result.detail


def test_rstheory_radius_matches_mpmath_and_abstains_exactly():
    result = thm_radius.check_radius_numeric(50, rtol=RTOL_F64_CLOSED_FORM)
    assert result.passed, result.detail


def _radius_without_abstention(p, sigma, *, p_b_upper=None):
    p = np.asarray(p, dtype=np.float64)
    if p_b_upper is None:
        return sigma * ndtri(p)
    return 0.5 * sigma * (ndtri(p) - ndtri(np.asarray(p_b_upper)))


def _radius_in_float32(p, sigma, *, p_b_upper=None):
    p = np.asarray(p, dtype=np.float32)
    if p_b_upper is None:
        r = np.float32(sigma) * ndtri(p)
        return np.where(p > 0.5, r, 0.0)
    pb = np.asarray(p_b_upper, dtype=np.float32)
    return np.where(p > pb, np.float32(0.5 * sigma) * (ndtri(p) - ndtri(pb)), 0.0)


@pytest.mark.parametrize("wrong", [_radius_without_abstention, _radius_in_float32])
def test_numeric_check_catches_a_wrong_radius(wrong):
    result = thm_radius.check_radius_numeric(50, rtol=RTOL_F64_CLOSED_FORM, certified_radius=wrong)
    assert not result.passed
    assert result.max_error > RTOL_F64_CLOSED_FORM


def test_mpmath_phi_inverse_agrees_with_scipy_ndtri():
    """The reference itself, against an independent implementation at float64 accuracy."""
    with mpmath.workdps(50):
        for p in (0.5 + 1e-9, 0.6, 0.975, 0.999999, 1 - 1e-12):
            ref = thm_radius.phi_inverse_mp(p)
            assert float(abs((ndtri(p) - ref) / ref)) < RTOL_F64_CLOSED_FORM


def test_checks_leave_global_mpmath_precision_alone():
    before = mpmath.mp.dps
    thm_radius.check_radius_numeric(30)
    assert mpmath.mp.dps == before


@pytest.mark.slow
def test_rstheory_radius_matches_mpmath_at_100_digits_on_a_dense_grid():
    grid = tuple(0.5 + 0.5 * (1 - 10.0**-e) for e in np.linspace(0.25, 12, 48))
    result = thm_radius.check_radius_numeric(100, p_grid=grid, rtol=RTOL_F64_CLOSED_FORM)
    assert result.passed, result.detail


def test_sympy_knows_erf_is_odd():
    """The derivation rests on erf(-x) = -erf(x) being applied automatically."""
    x = sp.Symbol("x", real=True)
    assert sp.erf(-x) == -sp.erf(x)
    assert math.isclose(float(sp.erf(sp.Rational(1, 2))), math.erf(0.5))
