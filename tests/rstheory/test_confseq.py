"""Tests of the beta-binomial mixture confidence sequence (rstheory._confseq.betabinomial_cs).

The claim under test is anytime validity: ``P[exists n: low(K_n, n) > p] <= alpha`` for an
i.i.d. Bernoulli(p) stream, i.e. validity under optional stopping. It is checked exactly
(dynamic programming over (n, k), absorbing a path at its first crossing) and by Monte
Carlo on simulated paths; the same computations show that Clopper-Pearson read at every n
(the naive peeking rule) does exceed alpha. mpmath is the independent route for the ends.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import rstheory
from rstheory._confseq import betabinomial_cs
from tests.tolerances import (
    ATOL_CONFSEQ_DP,
    MC_FALSE_FAILURE_RATE,
    RTOL_ENDS_VS_MPMATH,
    RTOL_OUTER_END,
)

CHUNK = 1024  # every call uses chunks of this length: one compiled program per function
ALPHA = 0.1
PS = (0.1, 0.5, 0.85)


def _chunked(fn, k, n, alpha, **kwargs):
    """``fn`` on fixed-length chunks of the flattened ``k, n, alpha`` (padding repeats
    element 0, so it is valid input)."""
    k, n, alpha = (
        a.ravel() for a in np.broadcast_arrays(np.asarray(k), np.asarray(n), np.asarray(alpha))
    )
    out = []
    for s in range(0, k.size, CHUNK):
        pad = CHUNK - min(CHUNK, k.size - s)
        args = [
            np.concatenate([v[s : s + CHUNK], np.repeat(v[s : s + 1], pad)]) for v in (k, n, alpha)
        ]
        res = fn(*args[:2], alpha=args[2], **kwargs)
        res = res if isinstance(res, tuple) else (res,)
        out.append(np.stack([np.asarray(r)[: CHUNK - pad] for r in res]))
    return np.concatenate(out, axis=1)


def cs_ends(k, n, alpha, prior=(1.0, 1.0)):
    low, high = _chunked(betabinomial_cs, k, n, alpha, prior=prior)
    return low, high


def triangle(n_max):
    """All (k, n) with 1 <= n <= n_max, 0 <= k <= n, in order of n."""
    n = np.repeat(np.arange(1, n_max + 1), np.arange(2, n_max + 2))
    k = np.concatenate([np.arange(m + 1) for m in range(1, n_max + 1)])
    return k, n


def crossing_probability(excluded, n_max, p):
    """P[exists n <= n_max: excluded(k_n, n)] by DP over (n, k), absorbing at a crossing.

    ``excluded`` is a boolean array over :func:`triangle` ``(n_max)``.
    """
    alive = np.array([1.0])  # P[k_0 = 0, not yet crossed]
    crossed, start = 0.0, 0
    for n in range(1, n_max + 1):
        nxt = np.zeros(n + 1)
        nxt[:-1] += alive * (1 - p)
        nxt[1:] += alive * p
        hit = excluded[start : start + n + 1]
        crossed += nxt[hit].sum()
        alive = np.where(hit, 0.0, nxt)
        start += n + 1
    return crossed


N_DP = 300


@pytest.fixture(scope="module")
def dp_table():
    k, n = triangle(N_DP)
    low, high = cs_ends(k, n, ALPHA)
    cp = _chunked(rstheory.cp_lower, k, n, ALPHA)[0]
    return k, n, low, high, cp


@pytest.mark.parametrize("p", PS)
def test_exact_crossing_probability_is_at_most_alpha(dp_table, p):
    """Ville: the chance that the lower end ever exceeds p (n <= 300), or that the
    interval ever misses p, computed exactly by DP, is <= alpha."""
    _, _, low, high, _ = dp_table
    assert crossing_probability(low > p, N_DP, p) <= ALPHA + ATOL_CONFSEQ_DP
    assert crossing_probability((low > p) | (high < p), N_DP, p) <= ALPHA + ATOL_CONFSEQ_DP


@pytest.mark.parametrize("p", PS)
def test_clopper_pearson_read_at_every_n_exceeds_alpha(dp_table, p):
    """The naive rule (CP at every n, stop when it clears p) fails more often than alpha:
    the exact DP crossing probability is well above alpha by n = 300."""
    _, _, _, _, cp = dp_table
    assert crossing_probability(cp > p, N_DP, p) > 2 * ALPHA


def _simulate_paths(p, paths, n_max, rng):
    return np.cumsum(rng.random((paths, n_max)) < p, axis=1)


def _mc_crossings(p, paths, n_max, every, rng):
    """Paths whose CS lower end / CP lower bound exceeds p at some looked-at n."""
    k_paths = _simulate_paths(p, paths, n_max, rng)
    looks = np.arange(every, n_max + 1, every)
    k = k_paths[:, looks - 1]
    n = np.broadcast_to(looks, k.shape)
    low = cs_ends(k, n, ALPHA)[0].reshape(k.shape)
    cp = _chunked(rstheory.cp_lower, k, n, ALPHA)[0].reshape(k.shape)
    return int(np.any(low > p, axis=1).sum()), int(np.any(cp > p, axis=1).sum())


def _check_optional_stopping(paths, n_max, every):
    limit = stats.binom.ppf(1 - MC_FALSE_FAILURE_RATE, paths, ALPHA)
    rng = np.random.default_rng(11)
    for p in PS:
        cs_fail, cp_fail = _mc_crossings(p, paths, n_max, every, rng)
        assert cs_fail <= limit, (p, cs_fail, paths, limit)
        assert cp_fail > limit, (p, cp_fail, paths, limit)


def test_optional_stopping_monte_carlo():
    """1,000 Bernoulli paths of length 2,000 per p, the bounds read every 20 draws.

    Budget: the paths are independent, so the number whose CS lower end ever exceeds p is
    Bin(1000, q) with q <= alpha; it is compared with the 1 - MC_FALSE_FAILURE_RATE
    quantile of Bin(1000, alpha), so a valid CS fails with probability < 1e-6 per p.
    Clopper-Pearson, read at the same looks, must exceed that quantile (it does by far:
    its crossing rate is several times alpha).
    """
    _check_optional_stopping(paths=1000, n_max=2000, every=20)


@pytest.mark.slow
def test_optional_stopping_monte_carlo_every_n():
    """As above with 2,000 paths and the bounds read after every draw."""
    _check_optional_stopping(paths=2000, n_max=2000, every=1)


@pytest.mark.slow
def test_exact_crossing_probability_to_n_2000():
    k, n = triangle(2000)
    low, high = cs_ends(k, n, ALPHA)
    for p in PS:
        assert crossing_probability((low > p) | (high < p), 2000, p) <= ALPHA + ATOL_CONFSEQ_DP


# ------------------------------------------------------------------ the ends


def _mp_log_mixture(p0, k, n, a, b):
    return (
        mpmath.log(mpmath.beta(a + k, b + n - k))
        - mpmath.log(mpmath.beta(a, b))
        - k * mpmath.log(p0)
        - (n - k) * mpmath.log1p(-p0)
    )


@pytest.mark.parametrize(
    ("k", "n", "alpha", "prior"),
    [(3, 10, 0.05, (1, 1)), (90, 100, 0.001, (1, 1)), (500, 2000, 0.1, (2, 5))],
)
def test_ends_are_the_roots_of_log_mixture_equal_log_one_over_alpha(k, n, alpha, prior):
    """The ends against mpmath roots of log M_n(p0) = log(1/alpha) (40 digits)."""
    low, high = cs_ends(np.array([k]), np.array([n]), alpha, prior=prior)
    with mpmath.workdps(40):
        f = lambda p0: _mp_log_mixture(p0, k, n, *prior) - mpmath.log(1 / mpmath.mpf(alpha))
        mle = mpmath.mpf(k) / n
        root_lo = mpmath.findroot(f, (mpmath.mpf(10) ** -30, mle), solver="anderson")
        root_hi = mpmath.findroot(f, (mle, 1 - mpmath.mpf(10) ** -30), solver="anderson")
        assert abs(low[0] - root_lo) / root_lo < RTOL_ENDS_VS_MPMATH
        assert abs(high[0] - root_hi) / root_hi < RTOL_ENDS_VS_MPMATH
        # outer bracket ends: inside C_n by at most the float64 rounding of log M
        assert low[0] <= root_lo * (1 + RTOL_OUTER_END) and high[0] >= root_hi * (
            1 - RTOL_OUTER_END
        )


def test_ends_at_all_successes_or_failures():
    low, high = cs_ends(np.array([0, 10]), np.array([10, 10]), 0.05)
    assert low[0] == 0.0 and high[1] == 1.0


def test_cs_is_wider_than_fixed_n_clopper_pearson():
    """The price of anytime validity: the CS lower end is below CP at the same level."""
    k, n = np.array([10, 50, 90, 900]), np.array([100, 100, 100, 1000])
    low, _ = cs_ends(k, n, 0.05)
    cp = _chunked(rstheory.cp_lower, k, n, 0.05)[0]
    assert np.all(low[k > 0] < cp[k > 0])


# ------------------------------------------------------------------ properties


@st.composite
def counts(draw, n_max: int = 100_000):
    n = draw(st.integers(1, n_max))
    k = draw(st.one_of(st.sampled_from([0, n]), st.integers(0, n)))
    return k, n


@given(counts(), st.floats(1e-8, 0.45), st.floats(0.1, 10), st.floats(0.1, 10))
def test_lower_below_estimate_below_upper_and_monotone(kn, alpha, a, b):
    k, n = kn
    k2 = min(k + 1, n)
    low, high = cs_ends(
        np.array([k, k2, k]), np.array([n, n, n]), np.array([alpha, alpha, 2 * alpha]), prior=(a, b)
    )
    assert 0.0 <= low[0] <= k / n <= high[0] <= 1.0
    assert low[0] <= low[1] and high[0] <= high[1]  # nondecreasing in k
    assert low[0] <= low[2] and high[2] <= high[0]  # narrower at a larger alpha


@pytest.mark.parametrize(
    ("prior", "match"),
    [
        ((0.0, 1.0), "prior must be a pair"),
        ((1.0,), "prior must be a pair"),
        ("ab", "prior must be a pair"),
        ((1.0, np.inf), "finite"),
    ],
)
def test_bad_prior_raises(prior, match):
    with pytest.raises(ValueError, match=match):
        betabinomial_cs(1, 10, alpha=0.05, prior=prior)


def test_bad_alpha_raises():
    with pytest.raises(ValueError, match=r"alpha must lie in the open interval \(0, 1\)"):
        betabinomial_cs(1, 10, alpha=0.0)


# ------------------------------------------------------------------ betting confidence sequence


def test_betting_cs_under_optional_stopping_monte_carlo():
    """200 paths of 1,000 outcomes per p; a path fails when its lower bound ever exceeds p.

    Budget: independent paths, so failures are Bin(200, q) with q <= alpha; compared with
    the 1 - MC_FALSE_FAILURE_RATE quantile of Bin(200, alpha): a valid sequence fails this
    test with probability < 1e-6 per p.
    """
    from rstheory.bounds import betting_cs_lower

    limit = stats.binom.ppf(1 - MC_FALSE_FAILURE_RATE, 200, ALPHA)
    rng = np.random.default_rng(13)
    for p in PS:
        x = (rng.random((200, 1000)) < p).astype(float)
        low = np.asarray(betting_cs_lower(x, alpha=ALPHA, grid_size=200))
        assert int(np.any(low > p, axis=1).sum()) <= limit, p
        assert np.all(np.diff(low, axis=1) >= 0)  # running intersection
        assert np.median(low[:, -1]) > p - 0.1  # it does learn: within 0.1 of p by t = 1000


def test_betting_cs_rejects_bad_input():
    from rstheory.bounds import betting_cs_lower

    with pytest.raises(ValueError, match=r"x must hold outcomes in \[0, 1\]"):
        betting_cs_lower([0.0, 2.0], alpha=0.1)
    with pytest.raises(ValueError, match="grid_size must be an integer >= 2"):
        betting_cs_lower([0.0, 1.0], alpha=0.1, grid_size=1)
    with pytest.raises(ValueError, match=r"alpha must lie in the open interval"):
        betting_cs_lower([0.0, 1.0], alpha=1.0)
