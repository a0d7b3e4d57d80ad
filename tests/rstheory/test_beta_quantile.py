"""The native binomial-tail inversion behind the Clopper-Pearson bounds.

Independent routes: Boost's *forward* incomplete beta (``scipy.special.betainc`` and
``betaincc``, accurate to about 1e-14 relative) evaluated at the returned root, turned
into a relative error in ``x`` through the analytic slope ``d log T / d log x``; the
Chebyshev tables against the recursion they tabulate; the implicit-function
derivative against ``1 / beta.pdf``.
"""

import jax
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import rstheory
from rstheory import _beta_quantile as bq
from tests.tolerances import (
    ATOL_CHEBYSHEV_TABLE,
    RTOL_CP_GRADIENT,
    RTOL_CP_REFERENCE,
)


def _grid(ns, alphas):
    rows = []
    for n in ns:
        ks = {
            1,
            2,
            3,
            5,
            10,
            50,
            79,
            80,
            81,
            100,
            *(int(n * f) for f in (1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)),
        }
        ks |= {int(n - j) for j in (1, 2, 3, 10, 79, 80, 81, 100)}
        rows += [(k, n, a) for k in ks if 1 <= k <= n - 1 for a in alphas]
    k, n, a = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    return k, n, a


def _implied_rel_error_lower(k, n, alpha, x):
    """|x - x*| / x* from the residual of P[Bin(n, x) >= k] = alpha (first order)."""
    a, b = k, n - k + 1
    log_t = np.log(sp.betainc(a, b, x))
    slope = np.exp(st.beta.logpdf(x, a, b) + np.log(x) - log_t)  # d log T / d log x
    return np.abs(log_t - np.log(alpha)) / slope


def _implied_rel_error_upper(k, n, alpha, x):
    """The same for P[Bin(n, x) <= k] = alpha = I_{1-x}(n - k, k + 1).

    Above 1/2 the check runs on y = 1 - x (exact in floating point), the root of the
    mirrored lower-bound equation, and |dy| / x bounds the relative error of x; where x
    rounded to 1, the true root is within 2**-53 of 1 and the error is below 1.2e-16.
    """
    a, b = k + 1, n - k
    low = x <= 0.5
    xl = np.where(low, x, 0.25)
    log_f = np.log(sp.betaincc(a, b, xl))
    slope = np.exp(st.beta.logpdf(xl, a, b) + np.log(xl) - log_f)
    err_low = np.abs(log_f - np.log(alpha)) / slope
    y = 1.0 - x
    ok = ~low & (y > 0)
    yh = np.where(ok, y, 0.25)
    err_high = (
        _implied_rel_error_lower(np.where(ok, n - k, 1.0), n, np.where(ok, alpha, 0.5), yh) * yh / x
    )
    return np.where(low, err_low, np.where(ok, err_high, 0.0))


ALPHAS = [1e-15, 1e-10, 1e-6, 1e-3, 0.05, 0.25, 0.5]


def _check_grid(ns, alphas):
    k, n, a = _grid(ns, alphas)
    low = np.asarray(rstheory.cp_lower(k, n, alpha=a))
    up = np.asarray(rstheory.cp_upper(k, n, alpha=a))
    # Placeholder lanes of the masked branches may divide by zero; the results are checked
    # to be finite below, so no real lane can hide behind the suppressed warnings.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        err_low = _implied_rel_error_lower(k, n, a, low)
        err_up = _implied_rel_error_upper(k, n, a, up)
    assert np.isfinite(err_low).all() and np.isfinite(err_up).all()
    for name, err in (("cp_lower", err_low), ("cp_upper", err_up)):
        i = int(np.argmax(err))
        assert err[i] <= RTOL_CP_REFERENCE, (
            f"{name} k={k[i]:.0f} n={n[i]:.0f} alpha={a[i]:g}: {err[i]:.3e}"
        )


def test_root_residual_small_grid_meets_target():
    """Both bounds solve their tail equation to 1e-10 relative in x, n up to 1e8."""
    _check_grid([2, 3, 7, 30, 161, 1000, 12345, 10**6, 10**8], ALPHAS)


@pytest.mark.slow
def test_root_residual_dense_grid_meets_target():
    """The fixed budget (N_STEPS Halley steps) suffices on a dense log grid of n."""
    ns = np.unique(np.round(np.logspace(0.3, 8, 60))).astype(int)
    _check_grid(ns, np.logspace(-15, np.log10(0.5), 12))


def test_chebyshev_tables_match_the_recursion():
    """The tabulated expansion coefficients equal BASYM's recursion on [0, 1]."""
    h = np.linspace(0.0, 1.0, 513)
    for sign, table in ((1.0, bq._CHEB_A_LT_B), (-1.0, bq._CHEB_A_GE_B)):
        exact = bq.basym_coefficients_exact(h, sign * (1.0 - h))
        approx = np.polynomial.chebyshev.chebval(2 * h - 1, table)
        np.testing.assert_allclose(approx, exact, rtol=0, atol=ATOL_CHEBYSHEV_TABLE)


def test_regime_switch_is_seamless():
    """Across min(a, b) = M_ASYM the binomial sum and the expansion agree with Boost."""
    m = int(bq.M_ASYM)
    k = np.array([m - 1, m, m + 1, 10**6 - m, 10**6 - m + 1, 10**6 - m + 2], dtype=float)
    n = np.full_like(k, 1e6)
    for alpha in (1e-12, 1e-3, 0.5):
        low = np.asarray(rstheory.cp_lower(k, n, alpha=alpha))
        assert np.max(_implied_rel_error_lower(k, n, alpha, low)) <= RTOL_CP_REFERENCE


def test_gradient_in_alpha_is_the_inverse_density():
    """d p_lower / d alpha = 1 / Beta(k, n - k + 1).pdf(p_lower) (implicit function theorem)."""
    for k, n, alpha in [(3.0, 10.0, 0.01), (900.0, 1000.0, 0.001), (40.0, 10**6, 0.2)]:
        grad = jax.grad(lambda a, k=k, n=n: rstheory.cp_lower(k, n, alpha=a))(alpha)
        x = float(rstheory.cp_lower(k, n, alpha=alpha))
        np.testing.assert_allclose(
            float(grad), 1.0 / st.beta.pdf(x, k, n - k + 1), rtol=RTOL_CP_GRADIENT
        )


def test_vmap_matches_batched_call():
    """jax.vmap of the scalar call equals the batched call."""
    k = np.array([1.0, 7.0, 50.0, 99.0])
    got = jax.vmap(lambda kk: rstheory.cp_lower(kk, 100.0, alpha=0.01))(k)
    np.testing.assert_array_equal(
        np.asarray(got), np.asarray(rstheory.cp_lower(k, 100.0, alpha=0.01))
    )
