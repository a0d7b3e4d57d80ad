"""Tests of rstheory.bounds.simultaneous_bounds and two_class_radius (Bonferroni).

Simultaneous coverage, ``P[pA_lower <= p_A and pB_upper >= max_{j != A} p_j] >= 1 - alpha``,
is checked exactly by enumerating every multinomial outcome (scipy's pmf) for small n,
and by Monte Carlo for a larger n.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

import rstheory
from rstheory import bounds
from tests.tolerances import (
    ATOL_PMF_SUM,
    MC_FALSE_FAILURE_RATE,
    RTOL_F64_CLOSED_FORM,
    RTOL_F64_LIBRARY,
)

ROWS = 1024  # every call is padded to this many rows: one compiled program
ALPHA = 0.1


def _padded(fn, counts, *args, **kwargs):
    """``fn`` on ``counts`` padded (with copies of row 0) to ROWS rows, cut back."""
    counts = np.asarray(counts)
    pad = ROWS - counts.shape[0]
    full = np.concatenate([counts, np.repeat(counts[:1], pad, axis=0)])
    out = fn(full, *args, **kwargs)
    if isinstance(out, tuple):
        return type(out)(*(np.asarray(v)[: counts.shape[0]] for v in out))
    return np.asarray(out)[: counts.shape[0]]


def outcomes(n, num_classes):
    """Every count vector of n votes over num_classes classes."""
    rows = [c for c in itertools.product(range(n + 1), repeat=num_classes - 1) if sum(c) <= n]
    return np.array([[*list(c), n - sum(c)] for c in rows])


def exact_coverage(n, p, top=None):
    """P[both bounds hold] summed over all multinomial outcomes."""
    c = outcomes(n, len(p))
    b = _padded(bounds.simultaneous_bounds, c, alpha=ALPHA, top=top)
    p = np.asarray(p)
    a = b.top
    p_a = p[a]
    p_b = np.array([np.max(np.delete(p, i)) for i in a])
    ok = (b.pa_lower <= p_a) & (b.pb_upper >= p_b)
    return float((stats.multinomial.pmf(c, n, p) * ok).sum())


@pytest.mark.parametrize(
    "p",
    [(0.5, 0.3, 0.2), (0.6, 0.35, 0.05), (0.34, 0.33, 0.33), (0.9, 0.05, 0.05), (0.3, 0.5, 0.2)],
)
@pytest.mark.parametrize("n", [5, 12, 25])
def test_exact_simultaneous_coverage_with_a_fixed_top_class(n, p):
    """K = 3, A = class 0 fixed in advance (even when it is not the largest p)."""
    assert exact_coverage(n, p, top=0) >= 1 - ALPHA - ATOL_PMF_SUM


@pytest.mark.parametrize("p", [(0.5, 0.5), (0.6, 0.4), (0.93, 0.07)])
@pytest.mark.parametrize("n", [5, 20, 51])
def test_exact_coverage_with_argmax_top_class_for_two_classes(n, p):
    """K = 2: the argmax of the same counts keeps the level (module docstring)."""
    assert exact_coverage(n, p) >= 1 - ALPHA - ATOL_PMF_SUM


def test_monte_carlo_simultaneous_coverage():
    """4,096 multinomial draws at n = 1000, A = 0 fixed.

    Budget: the failures are Bin(4096, q) with q <= alpha; compared with the
    1 - MC_FALSE_FAILURE_RATE quantile of Bin(4096, alpha), so a valid method fails this
    test with probability < 1e-6.
    """
    rng = np.random.default_rng(5)
    p = np.array([0.5, 0.3, 0.2])
    draws = 4 * ROWS
    c = rng.multinomial(1000, p, size=draws)
    fails = 0
    for s in range(0, draws, ROWS):
        b = bounds.simultaneous_bounds(c[s : s + ROWS], alpha=ALPHA, top=0)
        fails += int(np.sum((np.asarray(b.pa_lower) > p[0]) | (np.asarray(b.pb_upper) < p[1])))
    assert fails <= stats.binom.ppf(1 - MC_FALSE_FAILURE_RATE, draws, ALPHA)


def _example_counts():
    rng = np.random.default_rng(2)
    n = rng.integers(1, 500, size=ROWS)
    p = rng.dirichlet([3.0, 1.0, 0.5], size=ROWS)
    return np.array([rng.multinomial(m, q) for m, q in zip(n, p, strict=True)])


def test_bounds_are_bonferroni_clopper_pearson():
    c = _example_counts()
    b = bounds.simultaneous_bounds(c, alpha=ALPHA)
    n = c.sum(axis=1)
    k_a = c[np.arange(ROWS), b.top]
    k_b = c[np.arange(ROWS), b.runner_up]
    np.testing.assert_array_equal(b.top, np.argmax(c, axis=1))
    np.testing.assert_array_equal(b.pa_lower, rstheory.cp_lower(k_a, n, alpha=ALPHA / 2))
    expected = np.minimum(rstheory.cp_upper(k_b, n, alpha=ALPHA / 2), 1 - np.asarray(b.pa_lower))
    np.testing.assert_array_equal(b.pb_upper, expected)
    assert np.all(k_b == np.sort(c, axis=1)[:, -2])


def test_two_class_radius_is_at_least_the_one_class_radius_of_the_same_lower_bound():
    """R_2 >= sigma Phi^-1(pA_lower) wherever the latter is positive (pB_upper <= 1 - pA_lower)."""
    c = _example_counts()
    sigma = 0.25
    b = bounds.simultaneous_bounds(c, alpha=ALPHA)
    r2 = np.asarray(bounds.two_class_radius(c, alpha=ALPHA, sigma=sigma))
    r1 = np.asarray(rstheory.certified_radius(b.pa_lower, sigma=sigma))
    assert np.all(r2 >= r1 * (1 - RTOL_F64_CLOSED_FORM))
    np.testing.assert_array_equal(
        r2, rstheory.certified_radius(b.pa_lower, sigma=sigma, p_b_upper=b.pb_upper)
    )
    assert np.all((r2 == 0) == (np.asarray(b.pa_lower) <= np.asarray(b.pb_upper)))


def test_with_two_classes_the_radius_is_the_one_class_radius_at_half_alpha():
    """K = 2: pB_upper = 1 - pA_lower, so R_2 = sigma Phi^-1(CP_lower(k_A, n, alpha/2)),
    strictly below the one-class radius at alpha wherever it is positive."""
    k_a = np.arange(ROWS) % 101
    c = np.stack([k_a, 100 - k_a], axis=1)
    sigma = 0.5
    r2 = np.asarray(bounds.two_class_radius(c, alpha=ALPHA, sigma=sigma, top=0))
    half = np.asarray(rstheory.cp_lower(k_a, 100, alpha=ALPHA / 2))
    full = np.asarray(rstheory.cp_lower(k_a, 100, alpha=ALPHA))
    np.testing.assert_allclose(
        r2, np.where(half > 0.5, sigma * ndtri(np.maximum(half, 0.5)), 0.0), rtol=RTOL_F64_LIBRARY
    )
    positive = r2 > 0
    assert positive.any()
    assert np.all(r2[positive] < sigma * ndtri(full[positive]))


def test_given_top_and_runner_up_from_the_rest():
    b = bounds.simultaneous_bounds(np.tile([[10, 50, 40]], (ROWS, 1)), alpha=ALPHA, top=2)
    assert np.all(b.top == 2) and np.all(b.runner_up == 1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: bounds.simultaneous_bounds([5], alpha=0.1),
            r"counts must have shape \(\*batch, K\) with K >= 2",
        ),
        (lambda: bounds.simultaneous_bounds([1.5, 2], alpha=0.1), "counts must be integers"),
        (lambda: bounds.simultaneous_bounds([0, 0], alpha=0.1), "n >= 1"),
        (
            lambda: bounds.simultaneous_bounds([3, 2], alpha=1.0),
            r"alpha must lie in the open interval \(0, 1\)",
        ),
        (
            lambda: bounds.simultaneous_bounds([3, 2], alpha=0.1, method="exact"),
            r"method must be one of \['bonferroni'\]",
        ),
        (
            lambda: bounds.simultaneous_bounds([3, 2, 1], alpha=0.1, top=3),
            r"top must hold integer class indices in \[0, 2\]",
        ),
        (
            lambda: bounds.two_class_radius([3, 2], alpha=0.1, sigma=-1.0),
            "sigma must be finite and > 0",
        ),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
