"""The floor that lets n_for_abstention skip n, and the screened scan against the plain one.

Independent routes: the floor against the full trinomial enumeration with SciPy's binomial
tail for the p-value (small n) and against the exact rates of predict_rates (larger n);
the screened scan against the plain scan that evaluates the exact rate at every n (the
same n and the same value, bit for bit), on a grid and under Hypothesis.
"""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory import _predict_plan
from rstheory._predict_floor import SLACK, abstention_floor
from rstheory._predict_rates import class_wins, critical_values, predict_rates, rate_widths
from rstheory.predict import n_for_abstention

# Rounding of the floor and of the exact rate (module docstring of rstheory._predict_floor).
ROUNDING = 1e-12


def _enumerated_abstain(p_a, p_b, n, alpha):
    """P[abstain] over every count vector of Multinomial(n; p_a, p_b, rest), the p-value
    ``min(1, 2 P[Bin(t + s, 1/2) >= t])`` of the top two counts from SciPy's tail."""
    a, b = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = a + b <= n
    a, b = a[keep], b[keep]
    counts = np.stack([a, b, n - a - b])
    top = np.sort(counts, axis=0)
    t, s = top[2], top[1]
    pv = np.where(t + s > 0, np.minimum(1.0, 2.0 * scipy.stats.binom.sf(t - 1, t + s, 0.5)), 1.0)
    p_c = max(0.0, 1.0 - p_a - p_b)
    mass = scipy.stats.multinomial.pmf(counts.T, n, [p_a, p_b, p_c])
    return float(np.sum(mass[pv > alpha]))


PAIRS = [(0.52, 0.46), (0.5, 0.25), (0.4, 0.3), (0.6, 0.1), (0.34, 0.33), (0.5, 0.5), (0.45, 0.1)]


@pytest.mark.parametrize(("p_a", "p_b"), PAIRS)
def test_floor_is_below_the_enumerated_abstention(p_a, p_b):
    alpha = 0.05
    ns = np.array([1, 2, 5, 9, 12, 20, 33, 47, 60])
    k_star, _ = critical_values(alpha, int(ns.max()))
    floor = abstention_floor(p_a, p_b, ns, k_star)
    exact = np.array([_enumerated_abstain(p_a, p_b, int(n), alpha) for n in ns])
    assert (floor >= 0.0).all()
    assert (floor <= exact + ROUNDING).all(), (floor - exact).max()


@pytest.mark.parametrize(("p_a", "p_b"), [*PAIRS, (1.0, 0.0), (0.0, 0.0), (0.7, 0.3)])
@pytest.mark.parametrize("alpha", [0.001, 0.01])
def test_floor_is_below_the_exact_rate_and_tight_when_b_dominates(p_a, p_b, alpha):
    ns = np.r_[1:200, 200:1501:7]
    k_star, _ = critical_values(alpha, int(ns.max()))
    floor = abstention_floor(p_a, p_b, ns, k_star)
    exact = predict_rates(p_a, p_b, ns, alpha=alpha).abstain
    assert (floor <= exact + ROUNDING).all(), (floor - exact).max()
    if (p_a, p_b) == (0.52, 0.46):  # the rest rarely beats B: the gap is that rare event
        assert (exact - floor)[ns >= 500].max() < 1e-6


def test_floor_is_zero_for_a_table_that_is_not_monotone():
    k_star, _ = critical_values(0.001, 200)
    broken = k_star.copy()
    broken[100] = broken[101] + 1
    assert abstention_floor(0.52, 0.46, np.arange(1, 201), broken).max() == 0.0
    assert abstention_floor(0.52, 0.46, np.arange(1, 201), k_star).max() > 0.5


def test_critical_values_are_nondecreasing():
    """The floor's premise: k*(m) <= k*(m + 1) (Bin(m + 1, 1/2) is stochastically larger)."""
    for alpha in (0.001, 0.05):
        k_star, _ = critical_values(alpha, 20_000)
        assert (np.diff(k_star) >= 0).all()


def test_class_wins_width_reproduces_a_larger_set_bit_for_bit():
    ns = np.arange(200, 400, dtype=np.int64)
    _, s_star = critical_values(0.001, 399)
    width = rate_widths(0.52, 0.46, ns)[0]
    wide = class_wins(0.52, 0.46 / 0.48, ns, s_star)
    part = class_wins(0.52, 0.46 / 0.48, ns[:7], s_star, width=width)
    assert np.array_equal(part[0], wide[0][:7]) and np.array_equal(part[1], wide[1][:7])
    with pytest.raises(ValueError, match="width must be at least"):
        class_wins(0.52, 0.46 / 0.48, ns, s_star, width=3)


def _same(kw):
    try:
        new = n_for_abstention(**kw)
    except ValueError as err:
        with pytest.raises(ValueError) as old:
            _predict_plan._n_for_abstention_scan(**kw)
        assert str(old.value) == str(err)
        return None
    old = _predict_plan._n_for_abstention_scan(**kw)
    assert new == old  # n, abstain (the same float), target, bound
    return new


GRID = [
    dict(p_a=0.6, p_b=0.3, target=0.05, alpha=0.001),
    dict(p_a=0.55, p_b=0.4, target=0.1, alpha=0.01),
    dict(p_a=0.5, p_b=0.25, target=0.02, alpha=0.001),
    dict(p_a=0.4, p_b=0.3, target=0.2, alpha=0.05),
    dict(p_a=0.9, p_b=0.05, target=0.01, alpha=0.001),
    dict(p_a=[0.6, 0.7, 0.55], p_b=[0.25, 0.1, 0.3], target=0.1, alpha=0.01),
    dict(p_a=[0.6, 0.35, 0.8], p_b=[0.39, 0.33, 0.2], target=0.4, alpha=0.001),
    dict(p_a=0.5, p_b=0.5, target=0.05, alpha=0.001, n_max=300),  # never reached
    dict(p_a=0.52, p_b=0.46, target=0.3, alpha=0.001, n_max=3000),
]


@pytest.mark.parametrize("kw", GRID)
def test_screened_scan_equals_the_plain_scan_on_a_grid(kw):
    _same(kw)


@settings(max_examples=25)
@given(
    p_a=st.floats(0.3, 1.0),
    share=st.floats(0.0, 1.0),
    target=st.floats(0.01, 0.6),
    alpha=st.sampled_from([0.001, 0.01, 0.05]),
)
def test_screened_scan_equals_the_plain_scan_property(p_a, share, target, alpha):
    p_b = min(p_a, 1.0 - p_a) * share
    _same(dict(p_a=p_a, p_b=p_b, target=target, alpha=alpha, n_max=600))


def test_the_example_of_the_docstring_and_its_floor():
    """p_a = 0.52, p_b = 0.45: the answer is n = 4843, and only n whose floor is within
    SLACK of the target are evaluated exactly (there are few)."""
    plan = n_for_abstention(0.52, p_b=0.45, target=0.05, alpha=0.001)
    assert plan.n == 4843 and plan.abstain <= 0.05
    ns = np.arange(4000, 4844)
    k_star, _ = critical_values(0.001, 4843)
    floor = abstention_floor(0.52, 0.45, ns, k_star)
    assert (floor[:-1] > 0.05 + SLACK).sum() >= ns.size - 20
    exact = predict_rates(0.52, 0.45, ns[-3:], alpha=0.001).abstain
    assert exact[-1] <= 0.05 < exact[:-1].min()


def test_a_floor_that_is_not_a_number_skips_nothing(monkeypatch):
    """Only a floor above target + SLACK rules an n out: a nan floor leaves the plain
    scan's answer."""
    kw = dict(p_a=0.6, p_b=0.3, target=0.05, alpha=0.001)
    nan_floor = lambda p_a, p_b, ns, k_star: np.full(ns.shape, np.nan)
    monkeypatch.setattr(_predict_plan, "abstention_floor", nan_floor)
    assert n_for_abstention(**kw) == _predict_plan._n_for_abstention_scan(**kw)
