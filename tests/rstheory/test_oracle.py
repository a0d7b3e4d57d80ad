"""Tests of rstheory._oracle_correction (public as rstheory.oracle) and certify's oracle models.

Independent routes: plain Python float arithmetic for the closed forms and the worked examples
(Eq. 5 of Seferis, Wu, Kollias, Bensalem & Cheng 2025, EMNLP, and the corrections derived for
this project, verified by the proofs_check entries ``oracle.*``); statistics.NormalDist for Phi^-1;
scipy.stats.beta for the Clopper-Pearson error
bounds; jax.grad for the derivative; and a Monte Carlo simulation of a noisy oracle (true labels
drawn first, then flipped) for the coverage of the certificates.
"""

from __future__ import annotations

import dataclasses
import re
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given
from hypothesis import strategies as st

import rstheory
from rstheory import oracle
from rstheory._oracle_correction import _corrected_unclipped
from tests.tolerances import (
    ATOL_EXACT_ZERO,
    ATOL_F64_NEAR_ZERO,
    ATOL_ORACLE_DERIVATIVE,
    ATOL_ORACLE_INVERSION,
    MC_FALSE_FAILURE_RATE,
    RTOL_CP_VS_SCIPY,
    RTOL_F64_CLOSED_FORM,
    RTOL_F64_LIBRARY,
)

PROB = st.floats(0.0, 1.0)
NUM_CLASSES = st.sampled_from([2, 3, 5, 10])
# eps as a fraction of its upper end (K - 1)/K, keeping 1 - eps K/(K - 1) >= 1e-3.
EPS_FRACTION = st.floats(0.0, 0.999)
MC_TRIALS = 8192  # one batch size for every Monte Carlo test: one compilation of the CP solver


def _eps(fraction, k):
    return fraction * (k - 1) / k


def _f(x) -> float:
    return float(np.asarray(x))


# ---------------------------------------------------------------------------------------------
# Identities (Hypothesis, scalar inputs).


@given(p=PROB, fraction=EPS_FRACTION, k=NUM_CLASSES)
def test_correction_round_trips_p_to_q_to_p(p, fraction, k):
    """h(q(p, eps), eps) = p for p in [0, 1], eps in [0, (K - 1)/K); q matches plain Python."""
    eps = _eps(fraction, k)
    q = _f(oracle.observed_probability(p, eps=eps, num_classes=k))
    assert q == pytest.approx(
        p * (1 - eps) + (1 - p) * eps / (k - 1), rel=RTOL_F64_CLOSED_FORM, abs=ATOL_EXACT_ZERO
    )
    back = _f(oracle.corrected_probability(q, eps=eps, num_classes=k))
    assert abs(back - p) <= ATOL_ORACLE_INVERSION


@given(p=PROB, q=PROB, eps=st.floats(0.0, 0.499))
def test_k_class_formulas_reduce_to_binary_at_two_classes(p, q, eps):
    """K = 2: q = eps + p(1 - 2 eps) (Eq. 5), h = (q - eps)/(1 - 2 eps), h' = (2q - 1)/(1 - 2
    eps)^2."""
    assert _f(oracle.observed_probability(p, eps=eps)) == pytest.approx(
        eps + p * (1 - 2 * eps), rel=RTOL_F64_CLOSED_FORM, abs=ATOL_EXACT_ZERO
    )
    h = min(1.0, max(0.0, (q - eps) / (1 - 2 * eps)))
    assert _f(oracle.corrected_probability(q, eps=eps)) == pytest.approx(
        h, rel=RTOL_F64_CLOSED_FORM, abs=ATOL_F64_NEAR_ZERO
    )
    d = (2 * q - 1) / (1 - 2 * eps) ** 2
    assert _f(oracle.correction_derivative(q, eps=eps)) == pytest.approx(
        d, rel=RTOL_F64_CLOSED_FORM, abs=ATOL_ORACLE_DERIVATIVE
    )


@given(q=st.floats(0.0, 1.0, allow_subnormal=False), k=NUM_CLASSES)
def test_correction_is_identity_at_zero_error(q, k):
    """h(q, 0) = q exactly, so oracle_eps = 0 reproduces the uncorrected bound bit for bit.

    Subnormal q are left out: XLA on CPU flushes them to zero in arithmetic."""
    assert _f(oracle.corrected_probability(q, eps=0.0, num_classes=k)) == q


@given(q=PROB, f1=EPS_FRACTION, f2=EPS_FRACTION, k=NUM_CLASSES)
def test_correction_increases_in_eps_iff_q_above_one_over_k(q, f1, f2, k):
    """sign dh/deps = sign(q - 1/K), and h (clipped) is monotone in eps in that direction."""
    assume(abs(q - 1 / k) > 1e-9)
    eps = _eps(f1, k)
    d = _f(oracle.correction_derivative(q, eps=eps, num_classes=k))
    assert (d > 0) == (q > 1 / k)
    lo, hi = sorted([_eps(f1, k), _eps(f2, k)])
    h_lo = _f(oracle.corrected_probability(q, eps=lo, num_classes=k))
    h_hi = _f(oracle.corrected_probability(q, eps=hi, num_classes=k))
    assert (h_hi >= h_lo) if q > 1 / k else (h_hi <= h_lo)


@given(q=PROB, eps=st.floats(0.0, 0.499))
def test_abstain_decision_is_invariant_to_eps_for_two_classes(q, eps):
    """K = 2, eps < 1/2: h(q, eps) > 1/2 iff q > 1/2 (q kept off 1/2 by more than rounding)."""
    assume(abs(q - 0.5) > 1e-12)
    assert (_f(oracle.corrected_probability(q, eps=eps)) > 0.5) == (q > 0.5)


@given(q=PROB, fraction=EPS_FRACTION, k=NUM_CLASSES)
def test_grad_of_unclipped_correction_equals_closed_form(q, fraction, k):
    """jax.grad in eps of (q - eps/(K-1))/(1 - eps K/(K-1)) equals correction_derivative."""
    eps = _eps(fraction, k)
    g = _f(
        jax.grad(_corrected_unclipped, argnums=1)(jnp.float64(q), jnp.float64(eps), jnp.float64(k))
    )
    d = _f(oracle.correction_derivative(q, eps=eps, num_classes=k))
    scale = 1.0 / (1 - eps * k / (k - 1)) ** 2  # the size of the expression's terms
    assert abs(g - d) <= RTOL_F64_CLOSED_FORM * scale


@given(p=PROB, q=PROB, eps=st.floats(0.0, 0.499))
def test_asymmetric_reduces_to_symmetric_at_equal_rates(p, q, eps):
    """eps_fp = eps_fn = eps gives the symmetric q, and the known-rate correction gives h(q,
    eps)."""
    asym = _f(oracle.observed_probability_asymmetric(p, eps_fp=eps, eps_fn=eps))
    assert asym == pytest.approx(
        _f(oracle.observed_probability(p, eps=eps)),
        rel=RTOL_F64_CLOSED_FORM,
        abs=ATOL_F64_NEAR_ZERO,
    )
    low = _f(oracle.corrected_lower_bound(q, eps_fp=eps, eps_fn=eps))
    assert low == pytest.approx(
        _f(oracle.corrected_probability(q, eps=eps)),
        rel=RTOL_F64_CLOSED_FORM,
        abs=ATOL_F64_NEAR_ZERO,
    )


@given(p=PROB, fp=st.floats(0.0, 0.9), fn=st.floats(0.0, 0.9), slack=st.floats(0.0, 0.09))
def test_sound_asymmetric_bound_is_below_p_and_q_for_every_false_negative_rate(p, fp, fn, slack):
    """(q - fp_upper)/(1 - fp_upper) <= p for every fn and every fp <= fp_upper; it is also <= q."""
    assume(fp + fn < 1)
    q = p * (1 - fn) + (1 - p) * fp
    low = _f(oracle.corrected_lower_bound(q, eps_fp=fp + slack))
    assert low <= p + ATOL_ORACLE_INVERSION
    assert low <= q + ATOL_ORACLE_INVERSION


# ---------------------------------------------------------------------------------------------
# Worked examples of the oracle corrections (Eq. 5 of Seferis et al. 2025, EMNLP, and the
# corrections derived for this project), recomputed with plain Python floats.


def test_item_16_eq5_examples():
    """q = eps + p(1 - 2 eps): p = 0.8, eps = 0.1 -> 0.74; p = 0.55, eps = 0.2 -> 0.53."""
    for p, eps, stated in [(0.8, 0.1, 0.74), (0.55, 0.2, 0.53)]:
        plain = eps + p * (1 - 2 * eps)
        assert round(plain, 12) == stated
        assert _f(oracle.observed_probability(p, eps=eps)) == pytest.approx(
            plain, rel=RTOL_F64_CLOSED_FORM
        )


def test_item_17_inversion_round_trips_on_a_grid():
    """h(q(p, eps), eps) = p on a grid of p in [0, 1] and eps in [0, 0.5)."""
    p = np.linspace(0, 1, 21)[:, None]
    eps = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.499])[None, :]
    back = np.asarray(
        oracle.corrected_probability(oracle.observed_probability(p, eps=eps), eps=eps)
    )
    np.testing.assert_allclose(
        back, np.broadcast_to(p, back.shape), rtol=0, atol=ATOL_ORACLE_INVERSION
    )


def test_item_18_derivative_and_value_at_q_08_eps_01():
    """dh/deps(0.8, 0.1) = 0.6/0.64 = 0.9375 and h(0.8, 0.1) = 0.7/0.8 = 0.875 > 0.8."""
    assert (2 * 0.8 - 1) / (1 - 2 * 0.1) ** 2 == pytest.approx(0.9375, rel=RTOL_F64_CLOSED_FORM)
    assert _f(oracle.correction_derivative(0.8, eps=0.1)) == pytest.approx(
        0.9375, rel=RTOL_F64_CLOSED_FORM
    )
    assert _f(oracle.corrected_probability(0.8, eps=0.1)) == pytest.approx(
        (0.8 - 0.1) / (1 - 0.2), rel=RTOL_F64_CLOSED_FORM
    )
    assert _f(oracle.corrected_probability(0.8, eps=0.1)) > 0.8


def test_item_19_radii_corrected_vs_uncorrected():
    """sigma Phi^-1(0.875) = 1.1503 sigma vs sigma Phi^-1(0.8) = 0.8416 sigma (NormalDist route)."""
    corrected = _f(rstheory.certified_radius(oracle.corrected_probability(0.8, eps=0.1), sigma=1.0))
    uncorrected = _f(rstheory.certified_radius(0.8, sigma=1.0))
    assert corrected == pytest.approx(NormalDist().inv_cdf(0.875), rel=RTOL_F64_LIBRARY)
    assert uncorrected == pytest.approx(NormalDist().inv_cdf(0.8), rel=RTOL_F64_LIBRARY)
    assert (round(corrected, 4), round(uncorrected, 4)) == (1.1503, 0.8416)
    assert uncorrected <= corrected


def test_item_20_abstain_decision_is_invariant_on_a_grid():
    """h(q, eps) > 1/2 iff q > 1/2 for eps < 1/2 (grid including q = 1/2 exactly)."""
    q = np.linspace(0, 1, 41)[:, None]
    eps = np.linspace(0, 0.49, 8)[None, :]
    h = np.asarray(oracle.corrected_probability(q, eps=eps))
    np.testing.assert_array_equal(h > 0.5, np.broadcast_to(q > 0.5, h.shape))


def test_item_21_clipping_is_needed():
    """h(0.95, 0.1) = 0.85/0.8 = 1.0625 > 1 unclipped; corrected_probability returns 1."""
    assert (0.95 - 0.1) / (1 - 0.2) == pytest.approx(1.0625, rel=RTOL_F64_CLOSED_FORM)
    assert _f(_corrected_unclipped(0.95, 0.1, 2.0)) == pytest.approx(
        1.0625, rel=RTOL_F64_CLOSED_FORM
    )
    assert _f(oracle.corrected_probability(0.95, eps=0.1)) == 1.0


def test_item_22_asymmetric_counterexample():
    """p = 0.55, FP = 0.2, FN = 0: q = 0.64 > p with overall error 0.09; sound bound at q is
    0.55."""
    p, fp, fn = 0.55, 0.2, 0.0
    q_plain = p * (1 - fn) + (1 - p) * fp
    assert round(q_plain, 12) == 0.64 and round((1 - p) * fp + p * fn, 12) == 0.09
    q = _f(oracle.observed_probability_asymmetric(p, eps_fp=fp, eps_fn=fn))
    assert q == pytest.approx(q_plain, rel=RTOL_F64_CLOSED_FORM) and q > p
    assert _f(oracle.corrected_lower_bound(0.64, eps_fp=0.2)) == pytest.approx(
        (0.64 - 0.2) / 0.8, rel=RTOL_F64_CLOSED_FORM
    )
    assert round(_f(oracle.corrected_lower_bound(0.64, eps_fp=0.2)), 12) == 0.55


# ---------------------------------------------------------------------------------------------
# Error-rate estimates against scipy.stats.beta.

ERROR_CASES = [
    (0, 1),
    (1, 1),
    (0, 10),
    (3, 10),
    (10, 10),
    (0, 200),
    (10, 200),
    (199, 200),
    (1, 5000),
    (250, 5000),
    (4999, 5000),
]


def _beta_upper(e, m, a):
    return 1.0 if e == m else scipy.stats.beta.isf(a, e + 1, m - e)


def _beta_lower(e, m, a):
    return 0.0 if e == 0 else scipy.stats.beta.ppf(a, e, m - e + 1)


def test_estimate_error_is_one_sided_cp_upper_bound():
    """eps_upper = Beta^-1(1 - alpha; e + 1, m - e) (scipy beta.isf), 1 at e = m; alpha kept."""
    e, m = np.array(ERROR_CASES).T
    for alpha in (0.001, 0.05):
        eb = oracle.estimate_error(e, m, alpha=alpha)
        assert isinstance(eb, oracle.ErrorBound) and _f(eb.alpha) == alpha
        want = [_beta_upper(a, b, alpha) for a, b in ERROR_CASES]
        np.testing.assert_allclose(np.asarray(eb.eps_upper), want, rtol=RTOL_CP_VS_SCIPY, atol=0)


def test_estimate_error_interval_is_two_sided_cp_interval():
    """(eps_lower, eps_upper) = (Beta^-1(alpha/2; e, m-e+1), Beta^-1(1-alpha/2; e+1, m-e))."""
    e, m = np.array(ERROR_CASES).T
    ei = oracle.estimate_error_interval(e, m, alpha=0.01)
    np.testing.assert_allclose(
        np.asarray(ei.eps_lower),
        [_beta_lower(a, b, 0.005) for a, b in ERROR_CASES],
        rtol=RTOL_CP_VS_SCIPY,
        atol=0,
    )
    np.testing.assert_allclose(
        np.asarray(ei.eps_upper),
        [_beta_upper(a, b, 0.005) for a, b in ERROR_CASES],
        rtol=RTOL_CP_VS_SCIPY,
        atol=0,
    )


def test_estimate_rates_splits_alpha_bonferroni():
    """Each rate bound is one-sided at alpha/2, so both hold jointly at alpha (union bound)."""
    fp, neg = np.array(ERROR_CASES).T
    fn, pos = np.array(ERROR_CASES[::-1]).T
    rb = oracle.estimate_rates(fp, neg, fn, pos, alpha=0.002)
    assert _f(rb.alpha) == 0.002
    np.testing.assert_allclose(
        np.asarray(rb.eps_fp_upper),
        [_beta_upper(a, b, 0.001) for a, b in zip(fp, neg, strict=True)],
        rtol=RTOL_CP_VS_SCIPY,
        atol=0,
    )
    np.testing.assert_allclose(
        np.asarray(rb.eps_fn_upper),
        [_beta_upper(a, b, 0.001) for a, b in zip(fn, pos, strict=True)],
        rtol=RTOL_CP_VS_SCIPY,
        atol=0,
    )


# ---------------------------------------------------------------------------------------------
# certify with oracle models (deterministic).

K_VOTES = np.array([0, 300, 480, 500, 501, 520, 600, 800, 900, 990, 999, 1000])
N_VOTES = 1000
ALPHA, SIGMA = 0.001, 0.25


def test_certify_without_oracle_reports_q_lower_as_p_lower():
    cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA)
    assert cert.correction == "none"
    np.testing.assert_array_equal(np.asarray(cert.q_lower), np.asarray(cert.p_lower))
    np.testing.assert_array_equal(np.asarray(cert.alpha_spent), np.full(K_VOTES.shape, ALPHA))


def test_certify_known_symmetric_eps_is_capped_correction():
    """p_lower = min(h(q_lower, eps), alpha^(1/n)); >= q_lower above 1/2; eps = 0 is 'none'."""
    plain = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA)
    q = np.asarray(plain.q_lower)
    cap = ALPHA ** (1 / N_VOTES)
    for eps in (0.0, 0.1, 0.3):
        cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=eps)
        assert cert.correction == "symmetric"
        h = np.clip((q - eps) / (1 - 2 * eps), 0, 1)
        np.testing.assert_allclose(
            np.asarray(cert.p_lower),
            np.minimum(h, np.maximum(cap, q)),
            rtol=RTOL_F64_CLOSED_FORM,
            atol=0,
        )
        np.testing.assert_array_equal(np.asarray(cert.q_lower), q)
        assert (np.asarray(cert.p_lower)[q > 0.5] >= q[q > 0.5]).all()
        np.testing.assert_array_equal(np.asarray(cert.abstained), q <= 0.5)  # K = 2: same decisions
        assert np.isfinite(np.asarray(cert.radius)).all()
    zero = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=0.0)
    np.testing.assert_array_equal(np.asarray(zero.p_lower), np.asarray(plain.p_lower))
    # k = n with eps = 0.1: h = (cap - 0.1)/0.8 > 1 would be an infinite radius; the cap gives
    # R_max(n).
    top = rstheory.certify(N_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=0.1)
    assert _f(top.p_lower) == pytest.approx(cap, rel=RTOL_F64_CLOSED_FORM)
    assert _f(top.radius) == pytest.approx(SIGMA * NormalDist().inv_cdf(cap), rel=RTOL_F64_LIBRARY)


def test_certify_unknown_eps_keeps_uncorrected_bound_above_one_over_k():
    plain = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA)
    q = np.asarray(plain.q_lower)
    cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error="unknown")
    assert cert.correction == "symmetric_unknown"
    np.testing.assert_array_equal(np.asarray(cert.p_lower), np.where(q >= 0.5, q, 0.0))
    np.testing.assert_array_equal(np.asarray(cert.radius), np.asarray(plain.radius))


def test_certify_estimated_symmetric_eps_uses_the_worst_case_end():
    """ErrorBound: [0, eps_upper] -> q_lower above 1/2, h(q, eps_upper) below; ErrorInterval: h(q,
    eps_lower) above."""
    plain = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA)
    q = np.asarray(plain.q_lower)
    eb = oracle.ErrorBound(jnp.float64(0.15), jnp.float64(0.01))
    cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=eb)
    assert cert.correction == "symmetric_estimated"
    want = np.where(q > 0.5, q, np.clip((q - 0.15) / 0.7, 0, 1))
    np.testing.assert_allclose(np.asarray(cert.p_lower), want, rtol=RTOL_F64_CLOSED_FORM, atol=0)
    np.testing.assert_allclose(
        np.asarray(cert.alpha_spent), ALPHA + 0.01, rtol=RTOL_F64_CLOSED_FORM
    )
    ei = oracle.ErrorInterval(jnp.float64(0.05), jnp.float64(0.15), jnp.float64(0.01))
    cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=ei)
    cap = np.maximum(ALPHA ** (1 / N_VOTES), q)
    want = np.where(
        q > 0.5, np.minimum(np.clip((q - 0.05) / 0.9, 0, 1), cap), np.clip((q - 0.15) / 0.7, 0, 1)
    )
    np.testing.assert_allclose(np.asarray(cert.p_lower), want, rtol=RTOL_F64_CLOSED_FORM, atol=0)
    # An interval reaching 1/2 does not exclude an uninformative oracle: nothing is certified.
    wide = rstheory.certify(
        K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=oracle.ErrorBound(0.5, 0.01)
    )
    np.testing.assert_array_equal(np.asarray(wide.p_lower), 0.0)
    assert np.asarray(wide.abstained).all()


def test_certify_rate_bounds_use_the_false_positive_bound_only():
    plain = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA)
    q = np.asarray(plain.q_lower)
    for fn in (0.0, 0.3):
        rb = oracle.RateBounds(jnp.float64(0.2), jnp.float64(fn), jnp.float64(0.002))
        cert = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, oracle_error=rb)
        assert cert.correction == "asymmetric_estimated"
        np.testing.assert_allclose(
            np.asarray(cert.p_lower),
            np.asarray(oracle.corrected_lower_bound(q, eps_fp=0.2)),
            rtol=RTOL_F64_CLOSED_FORM,
            atol=0,
        )
        assert (np.asarray(cert.p_lower) <= q).all()
        np.testing.assert_allclose(
            np.asarray(cert.alpha_spent), ALPHA + 0.002, rtol=RTOL_F64_CLOSED_FORM
        )


def test_certificate_is_a_frozen_pytree_through_jit_and_vmap():
    """Five array leaves, correction in the tree structure; jit of vmap over a traced
    ErrorInterval matches eager certify with the intervals broadcast (one compilation)."""
    k = K_VOTES[4:]  # 8 counts; 2 x 8 = 16 entries share the bucket of the other certify tests
    lo, hi = np.array([0.02, 0.05]), np.array([0.1, 0.15])
    want = rstheory.certify(
        k,
        N_VOTES,
        alpha=ALPHA,
        sigma=SIGMA,
        oracle_error=oracle.ErrorInterval(lo[:, None], hi[:, None], 0.01),
    )
    assert len(jax.tree_util.tree_leaves(want)) == 5 and want.correction == "symmetric_estimated"
    with pytest.raises(dataclasses.FrozenInstanceError):
        want.radius = want.p_lower  # type: ignore[misc]

    def one_row(lo, hi):
        return rstheory.certify(
            jnp.asarray(k, dtype=jnp.float64),
            jnp.float64(N_VOTES),
            alpha=jnp.float64(ALPHA),
            sigma=jnp.float64(SIGMA),
            oracle_error=oracle.ErrorInterval(lo, hi, jnp.float64(0.01)),
        )

    got = jax.jit(jax.vmap(one_row))(jnp.asarray(lo), jnp.asarray(hi))
    assert isinstance(got, rstheory.Certificate) and got.correction == want.correction
    assert got.p_lower.shape == got.abstained.shape == (2, k.size)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=RTOL_F64_CLOSED_FORM, atol=0)


# ---------------------------------------------------------------------------------------------
# Monte Carlo: a simulated noisy oracle. Each test draws true labels, then oracle labels, with a
# fixed seed; a one-sided exact binomial test at MC_FALSE_FAILURE_RATE decides, so a correct
# implementation fails with probability below that rate whatever the seed.


def _assert_rate_at_most(misses, trials, rate):
    pvalue = scipy.stats.binom.sf(misses - 1, trials, rate)  # P[Bin(trials, rate) >= misses]
    assert pvalue >= MC_FALSE_FAILURE_RATE, (
        f"{misses}/{trials} misses, above {rate}: p = {pvalue:.2e}"
    )


def _assert_rate_above(misses, trials, rate):
    pvalue = scipy.stats.binom.sf(misses - 1, trials, rate)
    assert pvalue < MC_FALSE_FAILURE_RATE, (
        f"only {misses}/{trials} misses, not clearly above {rate}"
    )


def _symmetric_votes(rng, p, eps, k_classes, n):
    """Oracle votes for class A: true A w.p. p; the oracle keeps a label w.p. 1 - eps, else
    picks one of the other K - 1 labels uniformly (only 'A' vs 'not A' matters for A's count)."""
    true_a = rng.binomial(n, p)
    kept = rng.binomial(true_a, 1 - eps)
    # A true non-A label becomes A w.p. eps/(K - 1).
    gained = rng.binomial(n - true_a, eps / (k_classes - 1))
    return kept + gained


@pytest.mark.parametrize("k_classes", [2, 3, 5])
def test_observed_probability_matches_simulated_oracle(k_classes):
    """The mean oracle vote rate equals q(p, eps): a two-sided exact binomial test per cell."""
    rng = np.random.default_rng(16 + k_classes)
    p = np.array([0.2, 0.55, 0.8, 0.97])[:, None]
    eps = (k_classes - 1) / k_classes * np.array([0.0, 0.2, 0.5, 0.9])[None, :]
    n = 200_000
    # Label by label, without the shortcut of _symmetric_votes: simulate the K-class oracle.
    true = rng.random((*np.broadcast_shapes(p.shape, eps.shape), n)) < p[..., None]
    flip = rng.random(true.shape) < eps[..., None]
    wrong_is_a = rng.integers(0, k_classes - 1, true.shape) == 0  # one of the K - 1 other labels
    says_a = np.where(true, ~flip, flip & wrong_is_a)
    q = np.asarray(oracle.observed_probability(p, eps=eps, num_classes=k_classes))
    for count, qi in zip(says_a.sum(-1).ravel(), q.ravel(), strict=True):
        assert scipy.stats.binomtest(int(count), n, float(qi)).pvalue >= MC_FALSE_FAILURE_RATE


def test_known_symmetric_correction_covers_true_p():
    """P[p_lower > p] <= alpha under symmetric oracle errors with known eps (grid of p, eps)."""
    rng = np.random.default_rng(20250716)
    alpha, n = 0.05, 200
    grid_p = np.repeat([0.6, 0.75, 0.9, 0.97], 3)
    grid_eps = np.tile([0.05, 0.15, 0.3], 4)
    cell = np.arange(MC_TRIALS) % grid_p.size
    p, eps = grid_p[cell], grid_eps[cell]
    k = _symmetric_votes(rng, p, eps, 2, n)
    cert = rstheory.certify(k, n, alpha=alpha, sigma=0.5, oracle_error=eps)
    p_lower, q_lower = np.asarray(cert.p_lower), np.asarray(cert.q_lower)
    _assert_rate_at_most(int((p_lower > p).sum()), MC_TRIALS, alpha)
    above = q_lower > 0.5
    assert (p_lower[above] >= q_lower[above]).all() and (
        p_lower[above] > q_lower[above]
    ).mean() > 0.9


def test_asymmetric_counterexample_naive_bound_fails_sound_bound_holds():
    """p = 0.55, FP = 0.2, FN = 0 (q = 0.64): q_lower as p_lower misses nearly always; the
    sound bound with an estimated FP rate misses at most alpha + alpha_rates of the time."""
    rng = np.random.default_rng(4_3)
    p, fp, fn, n, alpha, alpha_rates = 0.55, 0.2, 0.0, 1000, 0.01, 0.01
    negatives = positives = 2000
    true_a = rng.binomial(n, p, MC_TRIALS)
    k = rng.binomial(true_a, 1 - fn) + rng.binomial(n - true_a, fp)
    rates = oracle.estimate_rates(
        rng.binomial(negatives, fp, MC_TRIALS),
        negatives,
        rng.binomial(positives, fn, MC_TRIALS),
        positives,
        alpha=alpha_rates,
    )
    cert = rstheory.certify(k, n, alpha=alpha, sigma=0.5, oracle_error=rates)
    naive_misses = int((np.asarray(cert.q_lower) > p).sum())
    _assert_rate_above(naive_misses, MC_TRIALS, alpha)
    assert naive_misses > MC_TRIALS // 2
    _assert_rate_at_most(int((np.asarray(cert.p_lower) > p).sum()), MC_TRIALS, alpha + alpha_rates)
    np.testing.assert_allclose(
        np.asarray(cert.alpha_spent), alpha + alpha_rates, rtol=RTOL_F64_CLOSED_FORM
    )


def test_estimated_symmetric_eps_certificate_holds_and_plugging_the_upper_bound_does_not():
    """eps estimated from m calibration answers: h(q_lower, eps_upper) overstates p (it increases
    in eps above 1/2); the certificate from the two-sided interval holds at alpha + alpha_eps,
    and raises p_lower above q_lower; the ErrorBound certificate holds too."""
    rng = np.random.default_rng(18)
    p, eps, n, m, alpha, alpha_eps = 0.8, 0.1, 10_000, 400, 0.01, 0.01
    k = _symmetric_votes(rng, p, eps, 2, n)
    errors = rng.binomial(m, eps, MC_TRIALS)
    interval = oracle.estimate_error_interval(errors, m, alpha=alpha_eps)
    bound = oracle.estimate_error(errors, m, alpha=alpha_eps)
    cert = rstheory.certify(k, n, alpha=alpha, sigma=0.5, oracle_error=interval)
    q_lower = np.asarray(cert.q_lower)
    plug_in = np.asarray(oracle.corrected_probability(q_lower, eps=np.asarray(bound.eps_upper)))
    _assert_rate_above(int((plug_in > p).sum()), MC_TRIALS, alpha + alpha_eps)
    _assert_rate_at_most(int((np.asarray(cert.p_lower) > p).sum()), MC_TRIALS, alpha + alpha_eps)
    assert (np.asarray(cert.p_lower) > q_lower).mean() > 0.9
    cert_upper = rstheory.certify(k, n, alpha=alpha, sigma=0.5, oracle_error=bound)
    _assert_rate_at_most(
        int((np.asarray(cert_upper.p_lower) > p).sum()), MC_TRIALS, alpha + alpha_eps
    )


# ---------------------------------------------------------------------------------------------
# Bad input.


def _raises_naming(name, fn, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        fn(*args, **kwargs)
    assert re.search(rf"\b{re.escape(name)}\b", str(err.value)), str(err.value)
    return str(err.value)


def test_eps_out_of_range_names_eps_and_its_range():
    msg = _raises_naming("eps", oracle.observed_probability, 0.5, eps=0.5)
    assert "[0, 0.5) for num_classes=2" in msg
    msg = _raises_naming("eps", oracle.corrected_probability, 0.5, eps=0.7, num_classes=3)
    assert "[0, 0.666667) for num_classes=3" in msg
    for bad in (-0.1, float("nan"), np.array([0.1, 0.6])):
        _raises_naming("eps", oracle.correction_derivative, 0.5, eps=bad)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: oracle.observed_probability(1.1, eps=0.1), "p"),
        (lambda: oracle.corrected_probability(-0.1, eps=0.1), "q"),
        (lambda: oracle.correction_derivative(float("nan"), eps=0.1), "q"),
        (lambda: oracle.observed_probability(0.5, eps=0.1, num_classes=1), "num_classes"),
        (lambda: oracle.observed_probability(0.5, eps=0.1, num_classes=2.5), "num_classes"),
        (lambda: oracle.observed_probability_asymmetric(0.5, eps_fp=0.6, eps_fn=0.4), "eps_fp"),
        (lambda: oracle.observed_probability_asymmetric(0.5, eps_fp=0.1, eps_fn=1.0), "eps_fn"),
        (lambda: oracle.corrected_lower_bound(1.5, eps_fp=0.1), "q_lower"),
        (lambda: oracle.corrected_lower_bound(0.5, eps_fp=1.0), "eps_fp"),
        (lambda: oracle.corrected_lower_bound(0.5, eps_fp=0.5, eps_fn=0.5), "eps_fn"),
        (lambda: oracle.estimate_error(1, 0, alpha=0.01), "m"),
        (lambda: oracle.estimate_error(11, 10, alpha=0.01), "errors"),
        (lambda: oracle.estimate_error(1.5, 10, alpha=0.01), "errors"),
        (lambda: oracle.estimate_error(1, 10, alpha=0.0), "alpha"),
        (lambda: oracle.estimate_error_interval(-1, 10, alpha=0.01), "errors"),
        (lambda: oracle.estimate_rates(11, 10, 1, 10, alpha=0.01), "false_positives"),
        (lambda: oracle.estimate_rates(1, 10, 0.5, 10, alpha=0.01), "false_negatives"),
        (lambda: oracle.estimate_rates(1, 10, 0, 0, alpha=0.01), "positives"),
        (lambda: oracle.estimate_rates(1, 0, 0, 10, alpha=0.01), "negatives"),
        (lambda: oracle.estimate_rates(1, 10, 1, 10, alpha=1.0), "alpha"),
        (
            lambda: rstheory.certify(900, 1000, alpha=0.001, sigma=0.25, oracle_error=0.5),
            "oracle_error",
        ),
        (
            lambda: rstheory.certify(900, 1000, alpha=0.001, sigma=0.25, oracle_error="unkown"),
            "oracle_error",
        ),
        (
            lambda: rstheory.certify(
                900, 1000, alpha=0.001, sigma=0.25, oracle_error=0.1, num_classes=1
            ),
            "num_classes",
        ),
        (
            lambda: rstheory.certify(900, 1000, alpha=0.001, sigma=0.25, oracle_error=(0.1, 0.01)),
            "oracle_error",
        ),
        (
            lambda: rstheory.certify(
                900, 1000, alpha=0.001, sigma=0.25, oracle_error=oracle.ErrorBound(1.5, 0.01)
            ),
            "oracle_error.eps_upper",
        ),
        (
            lambda: rstheory.certify(
                900, 1000, alpha=0.001, sigma=0.25, oracle_error=oracle.ErrorBound(0.1, 1.0)
            ),
            "oracle_error.alpha",
        ),
        (
            lambda: rstheory.certify(
                900,
                1000,
                alpha=0.001,
                sigma=0.25,
                oracle_error=oracle.ErrorInterval(0.2, 0.1, 0.01),
            ),
            "oracle_error.eps_lower",
        ),
        (
            lambda: rstheory.certify(
                900, 1000, alpha=0.001, sigma=0.25, oracle_error=oracle.RateBounds(1.0, 0.1, 0.01)
            ),
            "oracle_error.eps_fp_upper",
        ),
    ],
)
def test_bad_input_raises_naming_the_argument(call, name):
    _raises_naming(name, call)


def test_oracle_options_are_keyword_only():
    with pytest.raises(TypeError):
        oracle.observed_probability(0.5, 0.1, 2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        oracle.estimate_error(1, 10, 0.01)  # type: ignore[misc]
    with pytest.raises(TypeError):
        oracle.corrected_lower_bound(0.5, 0.1)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# The 0.1 keywords of certify (oracle_eps=, oracle=): deprecated, same certificate.


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (dict(oracle_eps=0.1), dict(oracle_error=0.1)),
        (dict(oracle_eps="unknown"), dict(oracle_error="unknown")),
        (
            dict(oracle=oracle.ErrorBound(0.15, 0.01)),
            dict(oracle_error=oracle.ErrorBound(0.15, 0.01)),
        ),
        (
            dict(oracle_eps=None, oracle=oracle.RateBounds(0.2, 0.0, 0.002)),
            dict(oracle_error=oracle.RateBounds(0.2, 0.0, 0.002)),
        ),
    ],
)
def test_certify_old_oracle_keywords_warn_and_agree(old, new):
    want = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, **new)
    with pytest.warns(DeprecationWarning, match="renamed oracle_error="):
        got = rstheory.certify(K_VOTES, N_VOTES, alpha=ALPHA, sigma=SIGMA, **old)
    assert got.correction == want.correction
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_certify_old_oracle_keywords_refuse_two_models():
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="oracle_eps"):
        rstheory.certify(900, 1000, sigma=0.25, oracle_eps=0.1, oracle=oracle.ErrorBound(0.1, 0.01))
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="oracle_error"):
        rstheory.certify(900, 1000, sigma=0.25, oracle_error=0.1, oracle=(0.1, 0.01))


def test_certify_alpha_defaults_to_cohen_et_al_level():
    want = rstheory.certify(K_VOTES, N_VOTES, alpha=0.001, sigma=SIGMA)
    got = rstheory.certify(K_VOTES, N_VOTES, sigma=SIGMA)
    np.testing.assert_array_equal(np.asarray(got.p_lower), np.asarray(want.p_lower))
