"""The coverage theorems of proofs_check.thm_bounds pass for rstheory's estimators, and the
checks reject a wrong estimator."""

import mpmath
import numpy as np
import pytest

from proofs_check import thm_bounds
from proofs_check._registry import run, theorems

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
