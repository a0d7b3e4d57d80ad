"""PREDICT checks (Cohen et al. 2019, Sec. 3.2, Proposition 1): they pass for rstheory and
fail for wrong rules.

The references are tested against independent routes too: the exact p-value against
:func:`scipy.stats.binomtest`, the enumerated rates against :func:`scipy.stats.multinomial`.
"""

import itertools

import mpmath
import numpy as np
import pytest
import scipy.stats

import proofs_check
from proofs_check import _predict_mp, thm_predict
from rstheory import predict
from rstheory._predict_rates import critical_values
from tests.tolerances import RTOL_CP_VS_SCIPY, RTOL_SAME_COMPUTATION

# A small grid for the default selection; the module's full grid runs in the slow test.
SMALL = {
    "alphas": (0.05, 0.001),
    "two_class_n": (*range(1, 31), 100, 1000),
    "multi_n": {3: (5, 12), 4: (6, 10)},
}


def _scaled_level(factor):
    """A rule at ``factor * alpha``: rstheory's test at the wrong level."""
    return lambda a: _predict_mp.decide_rule(predict.decide, alpha=min(0.99, factor * a))


def test_all_predict_theorems_are_registered_with_checks():
    names = {t.name: t for t in proofs_check.theorems() if t.name.startswith("predict.")}
    assert set(names) == {
        "predict.cohen2019_prop1",
        "predict.p_value",
        "predict.abstention_bound",
    }
    assert names["predict.cohen2019_prop1"].symbolic is thm_predict.derive_monotonicity
    assert all(t.numeric is not None for t in names.values())


def test_monotonicities_hold_symbolically():
    result = thm_predict.derive_monotonicity()
    assert result.passed, result.detail


def test_guarantee_holds_for_rstheory_on_two_and_more_classes():
    result = thm_predict.check_guarantee(30, **SMALL)
    assert result.passed, result.detail
    assert 0.0 < result.max_error <= 1.0
    assert "two classes" in result.detail and "more classes" in result.detail


def test_guarantee_fails_for_a_plain_majority_vote():
    result = thm_predict.check_guarantee(30, rule=lambda a: _predict_mp.majority_rule, **SMALL)
    assert not result.passed
    assert result.max_error > 10  # near a tie the majority is wrong almost half the time


def test_guarantee_fails_for_the_test_at_three_times_the_level():
    """Near a two-class tie the wrong class wins with probability up to ``1.5 alpha``."""
    result = thm_predict.check_guarantee(30, rule=_scaled_level(3.0), **SMALL)
    assert not result.passed
    assert 1.0 < result.max_error <= 1.5


def test_p_value_matches_the_exact_tail_and_decisions_agree():
    result = thm_predict.check_p_value(30)
    assert result.passed, result.detail
    assert result.max_error <= thm_predict.RTOL_P_VALUE


def test_p_value_check_fails_for_a_one_sided_p_value():
    def one_sided(n_a, n_b):
        return np.asarray(predict.p_value(n_a, n_b)) / 2

    result = thm_predict.check_p_value(30, p_value=one_sided)
    assert not result.passed
    assert result.max_error > 0.5


def test_p_value_check_fails_for_decisions_at_the_wrong_level():
    def loose(n_a, n_b, *, alpha):
        return predict.decide(n_a, n_b, alpha=1.5 * alpha)

    result = thm_predict.check_p_value(30, decide=loose)
    assert not result.passed
    assert "disagree" in result.detail


def test_abstention_bound_and_three_class_rates_hold():
    result = thm_predict.check_abstention_bound(30)
    assert result.passed, result.detail
    assert result.max_error <= 1.0


def _bound_without_spread(p_a, n, *, alpha):
    """Abstention as if every other class had probability 0 (second count 0): too low."""
    _, s_star = critical_values(alpha, max(int(n), 64))
    t0 = int(np.flatnonzero(s_star >= 0)[0])
    return scipy.stats.binom.cdf(t0 - 1, n, p_a)


def _two_class_abstention_only(p_a, n, *, alpha):
    """The two-class abstention without its error rate: not a bound on both."""
    r = predict.predict_rates(max(p_a, 1.0 - p_a), min(p_a, 1.0 - p_a), n, alpha=alpha)
    return r.abstain


@pytest.mark.parametrize("wrong", [_bound_without_spread, _two_class_abstention_only])
def test_abstention_check_fails_for_a_wrong_bound(wrong):
    result = thm_predict.check_abstention_bound(30, abstention_bound=wrong)
    assert not result.passed
    assert result.max_error > 1.0


def test_abstention_check_fails_for_wrong_three_class_rates():
    def one_sample_more(p_a, p_b, n, *, alpha):
        return predict.predict_rates(p_a, p_b, n + 1, alpha=alpha)

    result = thm_predict.check_abstention_bound(30, predict_rates=one_sample_more)
    assert not result.passed
    assert "predict_rates" in result.detail


@pytest.mark.parametrize(("n_a", "n_b"), [(5, 5), (6, 0), (10, 3), (31, 19), (250, 150)])
def test_exact_p_value_agrees_with_scipy_binomtest(n_a, n_b):
    with mpmath.workdps(30):
        ref = _predict_mp.exact_p_value(n_a, n_b)
    got = scipy.stats.binomtest(n_a, n_a + n_b, 0.5).pvalue
    assert float(abs(ref - got) / ref) < RTOL_CP_VS_SCIPY


def test_enumerated_rates_agree_with_scipy_multinomial():
    probs = (0.45, 0.35, 0.2)
    n, alpha = 12, 0.05
    table, _ = _predict_mp.rule_tables(
        _predict_mp.decide_rule(predict.decide, alpha=alpha), n_full=n
    )
    with mpmath.workdps(30):
        rates = _predict_mp.enumerate_rates([mpmath.mpf(p) for p in probs], n, table)
    abstain = correct = wrong = 0.0
    for a, b in itertools.product(range(n + 1), repeat=2):
        if a + b > n:
            continue
        x = (a, b, n - a - b)
        mass = scipy.stats.multinomial.pmf(x, n, probs)
        top, second = sorted(x, reverse=True)[:2]
        p = scipy.stats.binomtest(top, top + second, 0.5).pvalue if top + second else 1.0
        if p > alpha:
            abstain += mass
        elif x.index(top) == 0:
            correct += mass
        else:
            wrong += mass
    got = [float(v) for v in rates]
    assert got == pytest.approx([abstain, correct, wrong], rel=RTOL_SAME_COMPUTATION, abs=1e-15)
    assert sum(got) == pytest.approx(1.0, rel=RTOL_SAME_COMPUTATION)


def test_checks_leave_global_mpmath_precision_alone():
    before = mpmath.mp.dps
    thm_predict.check_p_value(20)
    assert mpmath.mp.dps == before


@pytest.mark.slow
def test_guarantee_on_the_full_grid():
    result = thm_predict.check_guarantee(40)
    assert result.passed, result.detail
