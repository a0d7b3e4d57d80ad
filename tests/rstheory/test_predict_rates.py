"""PREDICT's exact rates and abstention bound against enumeration, Monte Carlo and proof.

The independent routes: every count vector of a multinomial enumerated with
``scipy.stats.multinomial`` and decided with ``scipy.stats.binomtest`` (not the project's
p-value), and seeded Monte Carlo through :func:`rstheory.predict.decide`.
"""

import itertools

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from rstheory.predict import abstention_bound, decide, predict_rates


def _brute(probs, n, alpha):
    """``(abstain, returns class 0, returns class 1, returns any class >= 2)`` by enumeration."""
    k = len(probs)
    out = np.zeros(4)
    for counts in itertools.product(range(n + 1), repeat=k - 1):
        last = n - sum(counts)
        if last < 0:
            continue
        c = np.array([*counts, last])
        mass = scipy.stats.multinomial.pmf(c, n, probs)
        order = np.argsort(-c, kind="stable")
        t, s = int(c[order[0]]), int(c[order[1]])
        pv = scipy.stats.binomtest(t, t + s, 0.5).pvalue if t + s else 1.0
        if pv > alpha:
            out[0] += mass
        else:
            out[min(int(order[0]), 2) + 1] += mass
    return out


CASES = [
    (0.5, 0.3),
    (0.6, 0.4),
    (0.45, 0.45),
    (0.4, 0.1),  # the rest (0.5) is larger than p_a
    (0.7, 0.0),
    (1.0, 0.0),
    (0.34, 0.33),
]


@pytest.mark.parametrize(("p_a", "p_b"), CASES)
@pytest.mark.parametrize("alpha", [0.001, 0.05, 0.3])
def test_three_classes_match_enumeration(p_a, p_b, alpha):
    ns = np.array([1, 2, 7, 12, 25])
    got = predict_rates(p_a, p_b, ns, alpha=alpha)
    for i, n in enumerate(ns):
        abstain, ret_a, ret_b, ret_c = _brute([p_a, p_b, 1.0 - p_a - p_b], int(n), alpha)
        np.testing.assert_allclose(got.abstain[i], abstain, atol=1e-13)
        np.testing.assert_allclose(got.correct[i], ret_a, atol=1e-13)
        np.testing.assert_allclose(got.wrong[i], ret_b + ret_c, atol=1e-13)
        np.testing.assert_allclose(got.wrong_rest[i], ret_c, atol=1e-13)


def test_agrees_with_decide_at_a_dyadic_alpha():
    """alpha = 2**-9 is a p-value exactly (10 votes to 0): the rates follow the project's
    p-value there, as :func:`rstheory.predict.decide` does, count for count."""
    alpha, n, probs = 2.0**-9, 14, [0.7, 0.2, 0.1]
    want = np.zeros(2)
    for a in range(n + 1):
        for b in range(n + 1 - a):
            c = np.array([a, b, n - a - b])
            top2 = np.sort(c)[::-1][:2]
            mass = scipy.stats.multinomial.pmf(c, n, probs)
            abstain = bool(decide(int(top2[0]), int(top2[1]), alpha=alpha).abstain)
            want += mass * np.array([abstain, not abstain and int(np.argmax(c)) == 0])
    got = predict_rates(probs[0], probs[1], n, alpha=alpha)
    np.testing.assert_allclose([float(got.abstain), float(got.correct)], want, atol=1e-13)


def test_rates_sum_to_one_and_broadcast():
    p_a = np.array([[0.9], [0.55]])
    p_b = np.array([0.02, 0.05, 0.1])
    r = predict_rates(p_a, p_b, 300, alpha=0.01)
    assert r.abstain.shape == (2, 3)
    np.testing.assert_allclose(r.abstain + r.correct + r.wrong, 1.0, atol=1e-13)
    for i, j in np.ndindex(2, 3):
        one = predict_rates(float(p_a[i, 0]), float(p_b[j]), 300, alpha=0.01)
        assert float(one.abstain) == r.abstain[i, j]


def test_split_rest_bound_and_two_class_bound_against_enumeration():
    """Rest split over two classes: abstention <= abstain + wrong_rest of the merged model,
    and <= the bound from p_a alone (module docstring of rstheory._predict_rates)."""
    for (p_a, p_b, c1, c2), n, alpha in itertools.product(
        [(0.5, 0.2, 0.2, 0.1), (0.4, 0.3, 0.15, 0.15), (0.6, 0.1, 0.2, 0.1)],
        [5, 11],
        [0.01, 0.2],
    ):
        split = _brute([p_a, p_b, c1, c2], n, alpha)[0]
        merged = predict_rates(p_a, p_b, n, alpha=alpha)
        assert split <= float(merged.abstain + merged.wrong_rest) + 1e-13
        assert split <= float(abstention_bound(p_a, n, alpha=alpha)) + 1e-13


def test_bound_is_two_class_failure_to_return_top():
    """The bound equals 1 - P[two-class PREDICT returns A], by enumeration with binomtest."""
    for p_a, n, alpha in itertools.product([0.3, 0.5, 0.62, 0.9], [1, 9, 40], [0.001, 0.1]):
        _, ret_a, _, _ = _brute([p_a, 1.0 - p_a], n, alpha)
        np.testing.assert_allclose(abstention_bound(p_a, n, alpha=alpha), 1.0 - ret_a, atol=1e-13)


def test_two_class_abstention_alone_is_not_a_bound():
    """The documented counterexample: the two-class abstention (p_b = 1 - p_a) is below
    the three-class one at n = 12, alpha = 0.05, p_a = 0.5, p_b = 0.25; the proven bound
    (two-class abstention plus error) is not."""
    two = _brute([0.5, 0.5], 12, 0.05)[0]
    three = _brute([0.5, 0.25, 0.25], 12, 0.05)[0]
    assert three > two + 0.01
    assert three <= float(abstention_bound(0.5, 12, alpha=0.05))


@given(
    p_a=st.floats(0.0, 1.0),
    share=st.floats(0.0, 1.0),
    n=st.integers(1, 400),
    alpha=st.sampled_from([1e-6, 0.001, 0.05, 0.4]),
)
def test_bound_dominates_exact(p_a, share, n, alpha):
    p_b = share * min(p_a, 1.0 - p_a)
    r = predict_rates(p_a, p_b, n, alpha=alpha)
    bound = float(abstention_bound(p_a, n, alpha=alpha))
    assert float(r.abstain + r.wrong) <= bound + 1e-12
    assert float(r.abstain + r.wrong_rest) <= bound + 1e-12


# Monte Carlo: each check fails by chance with probability below 1e-7 (|z| > 5.33 for a
# binomial frequency), so the test's false-failure budget is below 1e-6.
_Z = 5.33


def _mc(probs, n, alpha, reps, seed):
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, probs, size=reps)
    top2 = -np.sort(-counts, axis=1)[:, :2]
    d = decide(top2[:, 0], top2[:, 1], alpha=alpha)
    abstain = np.asarray(d.abstain)
    winner = np.argmax(counts, axis=1)
    return (
        abstain.mean(),
        (~abstain & (winner != 0)).mean(),
        (~abstain & (winner >= 2)).mean(),
    )


@pytest.mark.parametrize(
    ("probs", "n", "alpha"),
    [([0.42, 0.36, 0.22], 800, 0.001), ([0.4, 0.38, 0.22], 3000, 0.05), ([0.4, 0.3, 0.3], 60, 0.2)],
)
def test_monte_carlo(probs, n, alpha):
    reps = 20_000
    exact = predict_rates(probs[0], probs[1], n, alpha=alpha)
    freqs = _mc(probs, n, alpha, reps, seed=0)
    wants = (exact.abstain, exact.wrong, exact.wrong_rest)
    for freq, p in zip(freqs, map(float, wants), strict=True):
        assert abs(freq - p) <= _Z * np.sqrt(max(p * (1 - p), 1e-12) / reps) + 1.0 / reps


@pytest.mark.slow
def test_monte_carlo_large_n():
    reps = 4_000
    probs = [0.4905, 0.4805, 0.029]  # abstains about half of the time at n = 1e5
    exact = predict_rates(probs[0], probs[1], 100_000, alpha=0.001)
    freq = _mc(probs, 100_000, 0.001, reps, seed=1)[0]
    p = float(exact.abstain)
    assert 0.2 < p < 0.8
    assert abs(freq - p) <= _Z * np.sqrt(p * (1 - p) / reps)


def test_validation():
    with pytest.raises(ValueError, match="p_b must be <= p_a"):
        predict_rates(0.3, 0.4, 10)
    with pytest.raises(ValueError, match=r"p_a \+ p_b must be <= 1"):
        predict_rates(0.6, 0.5, 10)
    with pytest.raises(ValueError, match="p_a must lie in"):
        predict_rates(1.2, 0.0, 10)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        predict_rates(0.6, 0.3, 0)
    with pytest.raises(ValueError, match="alpha"):
        abstention_bound(0.6, 10, alpha=1.0)
    with pytest.raises(ValueError, match="n must be integer-valued"):
        abstention_bound(0.6, 10.5)
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 10000000\]"):
        abstention_bound(0.6, 10**8)
    with pytest.raises(ValueError, match="does not broadcast"):
        predict_rates([0.6, 0.7], [0.1, 0.2, 0.3], 10)
