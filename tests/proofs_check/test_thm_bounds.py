"""The coverage theorems of proofs_check.thm_bounds pass for rstheory's estimators, and the
checks reject a wrong estimator."""

import mpmath
import numpy as np
import pytest

from proofs_check import thm_bounds
from proofs_check._registry import run, theorems
from tests.tolerances import RTOL_F64_RECURSION_VS_MP

NAMES = [
    "bounds.clopper_pearson_coverage",
    "bounds.hoeffding_coverage",
    "bounds.empirical_bernstein_coverage",
    "bounds.randomized_cp_exact_size",
    "bounds.wilson_not_valid",
    "confseq.mixture_martingale",
    "confseq.ends",
    "multiclass.bonferroni_coverage",
]


@pytest.mark.parametrize("name", NAMES)
def test_theorem_passes(name):
    (theorem,) = [t for t in theorems() if t.name == name]
    report = run(theorem, dps=30)
    for result in (report.symbolic, report.numeric):
        if result is not None:
            assert result.passed, result.detail


def test_coverage_check_rejects_an_anti_conservative_bound():
    """The Wilson bound fails the coverage check that valid methods pass."""
    result = thm_bounds.check_coverage(30, method="wilson", ns=(5, 20), alphas=(0.05,))
    assert not result.passed


def test_exact_coverage_of_a_bound_that_is_always_zero_is_one():
    with mpmath.workdps(30):
        cov, _ = thm_bounds.exact_coverage_mp(np.zeros(6), 5)
        assert abs(cov - 1) < mpmath.mpf(10) ** -25


# ------------------------------------------------------------------ optional stopping

SEQUENTIAL_NAMES = ["confseq.betting_martingale", "sequential.type_one_error"]


@pytest.mark.parametrize("name", SEQUENTIAL_NAMES)
def test_optional_stopping_theorem_passes(name):
    (theorem,) = [t for t in theorems() if t.name == name]
    report = run(theorem, dps=30)
    assert report.numeric is not None and report.numeric.passed, report.numeric.detail


def test_betting_martingale_check_rejects_a_bet_that_sees_its_outcome(monkeypatch):
    """A bet sized after seeing X_t (lambda larger on wins) is no martingale: the check fails."""
    import jax.numpy as jnp

    from proofs_check import thm_sequential
    from rstheory import _bounds_betting

    real = _bounds_betting._bet_step

    def peeking(state, xt, log_target, grid):
        t, total, sq, log_k = state
        lam = jnp.where(xt > 0.5, 0.4, 0.1)  # sized on the outcome it bets on
        return (t + 1.0, total + xt, sq, log_k + jnp.log1p(lam * (xt - grid)))

    monkeypatch.setattr(_bounds_betting, "_bet_step", peeking)
    try:
        assert not thm_sequential.check_betting_martingale(30, T=6).passed
    finally:
        monkeypatch.setattr(_bounds_betting, "_bet_step", real)
    assert thm_sequential.check_betting_martingale(30, T=6).passed


def test_stopping_law_mp_is_exact_against_enumeration():
    """The mpmath recursion against all 2^T outcome sequences of a 1-sample-per-look rule."""
    import itertools

    from proofs_check import thm_sequential
    from rstheory import sequential

    b = sequential.boundaries(radius=0.1, sigma=0.25, alpha=0.05, batch_size=1, n_max=10)
    p = 0.8
    cert = fut = en = 0.0
    for path in itertools.product((0, 1), repeat=10):
        w = p ** sum(path) * (1 - p) ** (10 - sum(path))
        k, stop, how = 0, 10, None
        for j, x in enumerate(path):
            k += x
            if k >= b.k_certify[j]:
                stop, how = j + 1, "c"
                break
            if k <= b.k_futile[j]:
                stop, how = j + 1, "f"
                break
        cert += w * (how == "c")
        fut += w * (how == "f")
        en += w * stop
    with mpmath.workdps(30):
        c, f, e = thm_sequential.stopping_law_mp(p, b)
    np.testing.assert_allclose(
        [float(c), float(f), float(e)], [cert, fut, en], rtol=RTOL_F64_RECURSION_VS_MP
    )
