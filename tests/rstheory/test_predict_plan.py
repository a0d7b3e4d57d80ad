"""Expected PREDICT abstention over inputs and the smallest n for a target.

The independent route: the abstention bound of one input by enumeration with SciPy's
binomial tail (``1 - P[two-class PREDICT returns the top class]``), and means
over a model taken from its own ``quadrature()`` or ``sample``.
"""

import numpy as np
import pytest
import scipy.stats

from rstheory.distributions import Beta, Empirical, Mixture, PointMass
from rstheory.predict import (
    abstention_bound,
    expected_abstention,
    n_for_abstention,
    predict_rates,
)


def _bound_by_binomtest(p, n, alpha):
    """``1 - P[A wins]``, with the two-sided p-value ``min(1, 2 P[Bin(n, 1/2) >= a])`` from
    SciPy's binomial tail (what ``binomtest`` gives at 1/2, checked in test_predict.py)."""
    a = np.arange(n + 1)
    pv = np.minimum(1.0, 2.0 * scipy.stats.binom.sf(a - 1, n, 0.5))
    wins = (2 * a > n) & (pv <= alpha)
    return 1.0 - float(np.sum(scipy.stats.binom.pmf(a, n, p)[wins]))


@pytest.mark.parametrize(("p_a", "target", "alpha"), [(0.8, 0.05, 0.001), (0.65, 0.1, 0.01)])
def test_n_for_abstention_bound_is_minimal(p_a, target, alpha):
    plan = n_for_abstention(p_a, target=target, alpha=alpha)
    assert plan.bound and plan.target == target
    assert _bound_by_binomtest(p_a, plan.n, alpha) <= target
    np.testing.assert_allclose(plan.abstain, _bound_by_binomtest(p_a, plan.n, alpha), atol=1e-13)
    # every smaller n misses the target (abstention is not monotone in n: check them all)
    for n in range(1, plan.n):
        assert _bound_by_binomtest(p_a, n, alpha) > target


def test_abstention_is_not_monotone_in_n():
    """The sawtooth that makes the scan necessary: the bound rises at some n."""
    b = abstention_bound(0.8, np.arange(1, 200), alpha=0.001)
    assert (np.diff(b) > 0).any()
    assert b[-1] < b[30]


def test_n_for_abstention_exact_is_minimal_and_below_bound():
    p_a, p_b = np.array([0.6, 0.7, 0.55]), np.array([0.25, 0.1, 0.3])
    plan = n_for_abstention(p_a, p_b=p_b, target=0.1, alpha=0.01)
    assert not plan.bound
    at = predict_rates(p_a, p_b, plan.n, alpha=0.01).abstain.mean()
    np.testing.assert_allclose(plan.abstain, at, atol=1e-13)
    assert at <= 0.1
    ns = np.arange(1, plan.n)
    before = predict_rates(p_a[:, None], p_b[:, None], ns, alpha=0.01).abstain.mean(axis=0)
    assert (before > 0.1).all()
    assert plan.n <= n_for_abstention(p_a, target=0.1, alpha=0.01).n


def test_expected_abstention_over_a_model_and_arrays():
    model = Beta(6.0, 2.0)
    ns = np.array([50, 400])
    got = expected_abstention(model, ns, alpha=0.001)
    assert got.bound and got.n.tolist() == [50, 400]
    nodes, weights = model.quadrature()
    want = [np.sum(weights * abstention_bound(nodes, n, alpha=0.001)) for n in ns]
    np.testing.assert_allclose(got.abstain, want, atol=1e-13)
    # Monte Carlo over inputs: 40_000 draws of p, false-failure budget 1e-7 per n (5.33 sd;
    # each term lies in [0, 1], so its sd is at most 1/2)
    import jax

    p = np.asarray(model.sample(jax.random.key(0), (40_000,)))
    for i, n in enumerate(ns):
        mc = abstention_bound(p, n, alpha=0.001)
        assert abs(mc.mean() - got.abstain[i]) <= 5.33 * 0.5 / np.sqrt(p.size)
    # per-input arrays are equal-weight atoms: the same as the Empirical model
    probs = np.array([0.9, 0.6, 0.6, 0.75])
    np.testing.assert_allclose(
        expected_abstention(probs, ns).abstain,
        expected_abstention(Empirical(probs), ns).abstain,
        atol=1e-13,
    )
    exact = expected_abstention(probs, ns, p_b=[0.05, 0.3, 0.2, 0.2])
    assert not exact.bound
    np.testing.assert_allclose(
        exact.abstain,
        predict_rates(probs[:, None], np.array([0.05, 0.3, 0.2, 0.2])[:, None], ns).abstain.mean(
            axis=0
        ),
        atol=1e-13,
    )
    assert (exact.abstain <= expected_abstention(probs, ns).abstain + 1e-13).all()


def test_point_mass_and_mixture():
    np.testing.assert_allclose(
        expected_abstention(PointMass(0.7), [80]).abstain, abstention_bound(0.7, [80])
    )
    mix = Mixture([PointMass(0.7), PointMass(0.95)], [0.25, 0.75])
    np.testing.assert_allclose(
        expected_abstention(mix, [80]).abstain,
        0.25 * abstention_bound(0.7, [80]) + 0.75 * abstention_bound(0.95, [80]),
        atol=1e-14,
    )


def test_validation():
    with pytest.raises(ValueError, match="target must lie in"):
        n_for_abstention(0.8, target=0.0)
    with pytest.raises(ValueError, match="target must lie in"):
        n_for_abstention(0.8, target=1.5)
    with pytest.raises(ValueError, match=r"n_max must be an integer in \[1, 10000000\]"):
        n_for_abstention(0.8, n_max=0)
    with pytest.raises(ValueError, match="not reached with n_max=500"):
        n_for_abstention(0.5, n_max=500)
    with pytest.raises(ValueError, match="p_b must be None when p_a is a distribution"):
        expected_abstention(Beta(2.0, 2.0), 10, p_b=0.1)
    with pytest.raises(ValueError, match="p_b must have the shape of p_a"):
        expected_abstention([0.6, 0.7], 10, p_b=[0.1])
    with pytest.raises(ValueError, match="p_b must be <= p_a"):
        n_for_abstention([0.6], p_b=[0.7])
    with pytest.raises(ValueError, match="p_a must lie in"):
        expected_abstention([0.6, 1.2], 10)
    with pytest.raises(ValueError, match="p_a must be a distribution or"):
        expected_abstention(np.ones((2, 2)) * 0.6, 10)
    with pytest.raises(ValueError, match="n must be a scalar or a 1-D array"):
        expected_abstention(0.6, [[10]])


def test_reachable_from_the_package_without_clash():
    """``rstheory.predict`` is the PREDICT module; ``rstheory.analyze.predict`` (the ACR
    prediction at other n) stays a function of its own module."""
    import subprocess
    import sys

    code = (
        "import rstheory, sys\n"
        "assert 'rstheory.predict' not in sys.modules\n"
        "m = rstheory.predict\n"
        "assert m.__name__ == 'rstheory.predict'\n"
        "import rstheory._predict_plan as plan\n"
        "assert m.n_for_abstention is plan.n_for_abstention\n"
        "assert 'predict' in dir(rstheory) and 'predict' in rstheory.__all__\n"
        "from rstheory.analyze import predict as f\n"
        "assert callable(f) and f.__module__ == 'rstheory._analyze_predict'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
