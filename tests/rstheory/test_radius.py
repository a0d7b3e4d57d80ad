"""Tests of rstheory._radius: certified_radius and certify (Cohen et al. 2019, Theorem 1).

The independent route is scipy.stats.norm.ppf (Boost's erf inverse) for Phi^-1, and
rstheory.cp_lower (tested in test_clopper_pearson.py) for the certificate's p_lower.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import rstheory
from tests.tolerances import RTOL_F64_CLOSED_FORM, RTOL_SAME_COMPUTATION

# p_lower values above 1/2, from just above 1/2 to 1 - 1e-12.
P_ABOVE_HALF = np.array(
    [
        0.5 + 1e-12,
        0.5 + 1e-9,
        0.5 + 1e-6,
        0.51,
        0.6,
        0.75,
        0.9,
        0.99,
        0.999,
        1 - 1e-6,
        1 - 1e-9,
        1 - 1e-12,
    ]
)
SIGMAS = np.array([0.12, 0.25, 0.5, 1.0, 2.0])


def test_radius_is_sigma_times_normal_quantile():
    """R = sigma * Phi^-1(p) for p > 1/2, against scipy.stats.norm.ppf, incl. p = 1 - 1e-12 and 1/2
    + 1e-12."""
    p, sigma = P_ABOVE_HALF[:, None], SIGMAS[None, :]
    got = np.asarray(rstheory.certified_radius(p, sigma=sigma))
    np.testing.assert_allclose(
        got, sigma * scipy.stats.norm.ppf(p), rtol=RTOL_F64_CLOSED_FORM, atol=0
    )
    assert got.shape == (P_ABOVE_HALF.size, SIGMAS.size)
    assert (got > 0).all()


def test_radius_is_zero_at_or_below_one_half():
    """p <= 1/2 certifies nothing: the radius is exactly 0 (not negative, not a sentinel)."""
    p = np.array([0.0, 1e-12, 0.1, 0.3, 0.5 - 1e-12, 0.5])
    got = np.asarray(rstheory.certified_radius(p, sigma=0.25))
    np.testing.assert_array_equal(got, 0.0)


def test_radius_is_increasing_in_p_and_linear_in_sigma():
    """R(p) increases with p above 1/2, and R(p, c sigma) = c R(p, sigma)."""
    r = np.asarray(rstheory.certified_radius(P_ABOVE_HALF, sigma=1.0))
    assert (np.diff(r) > 0).all()
    np.testing.assert_allclose(
        np.asarray(rstheory.certified_radius(P_ABOVE_HALF, sigma=0.25)),
        0.25 * r,
        rtol=RTOL_F64_CLOSED_FORM,
        atol=0,
    )


def test_two_class_radius_matches_scipy():
    """R = sigma / 2 (Phi^-1(pA) - Phi^-1(pB)) where pA > pB, else 0."""
    rng = np.random.default_rng(0)
    pa = rng.uniform(0, 1, 500)
    pb = rng.uniform(0, 1, 500) * (1 - pa)  # pB <= 1 - pA, as for a runner-up class
    sigma = rng.choice(SIGMAS, 500)
    got = np.asarray(rstheory.certified_radius(pa, sigma=sigma, p_b_upper=pb))
    want = np.where(
        pa > pb, 0.5 * sigma * (scipy.stats.norm.ppf(pa) - scipy.stats.norm.ppf(pb)), 0.0
    )
    ok = pa > pb
    np.testing.assert_allclose(got[ok], want[ok], rtol=RTOL_F64_CLOSED_FORM, atol=0)
    np.testing.assert_array_equal(got[~ok], 0.0)
    np.testing.assert_array_equal(
        np.asarray(rstheory.certified_radius(0.4, sigma=1.0, p_b_upper=0.4)), 0.0
    )


def test_two_class_radius_reduces_to_one_class_at_complement():
    """p_b_upper = 1 - p_lower gives sigma * Phi^-1(p_lower) (1 - p is exact for p in [1/2, 1])."""
    p = P_ABOVE_HALF
    np.testing.assert_allclose(
        np.asarray(rstheory.certified_radius(p, sigma=0.5, p_b_upper=1 - p)),
        np.asarray(rstheory.certified_radius(p, sigma=0.5)),
        rtol=RTOL_F64_CLOSED_FORM,
        atol=0,
    )


def test_certify_fields_are_cp_lower_and_radius():
    """certify = (cp_lower(k, n, alpha), certified_radius(p_lower, sigma), p_lower <= 1/2)."""
    n = 1000
    k = np.array([0, 400, 500, 501, 520, 600, 900, 990, 999, 1000])
    for alpha, sigma in [(0.001, 0.25), (0.05, 1.0), (1e-10, 0.5)]:
        cert = rstheory.certify(k, n, alpha=alpha, sigma=sigma)
        assert isinstance(cert, rstheory.Certificate)
        p_lower = np.asarray(rstheory.cp_lower(k, n, alpha=alpha))
        np.testing.assert_allclose(
            np.asarray(cert.p_lower), p_lower, rtol=RTOL_F64_CLOSED_FORM, atol=0
        )
        np.testing.assert_allclose(
            np.asarray(cert.radius),
            np.asarray(rstheory.certified_radius(p_lower, sigma=sigma)),
            rtol=RTOL_F64_CLOSED_FORM,
            atol=0,
        )
        np.testing.assert_array_equal(np.asarray(cert.abstained), p_lower <= 0.5)
        np.testing.assert_array_equal(np.asarray(cert.radius)[np.asarray(cert.abstained)], 0.0)
        assert (np.asarray(cert.radius)[~np.asarray(cert.abstained)] > 0).all()


def test_certify_abstained_is_a_bool_array_not_a_sentinel():
    """abstained is a boolean jax array of the batch shape; radius is float64 and never negative."""
    cert = rstheory.certify(
        np.array([[990], [400]]), np.array([1000, 2000]), alpha=0.001, sigma=0.25
    )
    assert isinstance(cert.abstained, jax.Array) and cert.abstained.dtype == jnp.bool_
    assert cert.abstained.shape == cert.radius.shape == cert.p_lower.shape == (2, 2)
    assert cert.radius.dtype == cert.p_lower.dtype == jnp.float64
    assert (np.asarray(cert.radius) >= 0).all()
    np.testing.assert_array_equal(
        np.asarray(cert.abstained), [[False, True], [True, True]]
    )  # 990 / 2000 < 1/2
    scalar = rstheory.certify(400, 1000, alpha=0.001, sigma=0.25)
    assert scalar.abstained.dtype == jnp.bool_ and scalar.abstained.shape == ()
    assert bool(scalar.abstained) is True and float(scalar.radius) == 0.0


def test_certify_jit_matches_eager():
    """certify under a user's jax.jit (tracers) gives the eager certificate."""
    k = jnp.asarray([0.0, 500.0, 990.0])
    f = jax.jit(lambda k, n, a, s: rstheory.certify(k, n, alpha=a, sigma=s))
    got = f(k, jnp.float64(1000.0), jnp.float64(0.001), jnp.float64(0.25))
    want = rstheory.certify(k, 1000, alpha=0.001, sigma=0.25)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=RTOL_F64_CLOSED_FORM, atol=0)
    assert got.abstained.dtype == jnp.bool_ and got.correction == want.correction == "none"


def _raises_naming(name, fn, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        fn(*args, **kwargs)
    assert re.search(rf"\b{name}\b", str(err.value)), str(err.value)


@pytest.mark.parametrize("sigma", [0.0, -0.25, float("nan"), float("inf"), np.array([0.25, 0.0])])
def test_bad_sigma_raises_naming_sigma(sigma):
    _raises_naming("sigma", rstheory.certified_radius, 0.9, sigma=sigma)
    _raises_naming("sigma", rstheory.certify, 900, 1000, alpha=0.001, sigma=sigma)


@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan"), np.array([0.9, 1.5])])
def test_bad_probability_raises_naming_it(p):
    _raises_naming("p_lower", rstheory.certified_radius, p, sigma=0.25)
    _raises_naming("p_b_upper", rstheory.certified_radius, 0.9, sigma=0.25, p_b_upper=p)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -1e-3, float("nan")])
def test_certify_bad_alpha_raises_naming_alpha(alpha):
    _raises_naming("alpha", rstheory.certify, 900, 1000, alpha=alpha, sigma=0.25)


@pytest.mark.parametrize(
    ("k", "n", "name"), [(1001, 1000, "k"), (-1, 1000, "k"), (2.5, 1000, "k"), (0, 0, "n")]
)
def test_certify_bad_counts_raise_naming_them(k, n, name):
    _raises_naming(name, rstheory.certify, k, n, alpha=0.001, sigma=0.25)


def test_certify_options_are_keyword_only():
    with pytest.raises(TypeError):
        rstheory.certify(900, 1000, 0.001, 0.25)  # type: ignore[misc]
    with pytest.raises(TypeError):
        rstheory.certified_radius(0.9, 0.25, 0.1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "bad", "others"),
    [
        (dict(sigma=[0.25, 0.5, 1.0]), "sigma (3,)", "k (2,) and n (2,)"),
        (dict(sigma=0.5, alpha=[0.1, 0.01, 0.001]), "alpha (3,)", "k (2,) and n (2,)"),
        (dict(sigma=0.5, num_classes=[2, 3, 4]), "num_classes (3,)", "k (2,) and n (2,)"),
        (dict(sigma=0.5, oracle_error=[0.1, 0.2, 0.3]), "oracle_error (3,)", "k (2,) and n (2,)"),
        (
            dict(sigma=0.5, oracle_error=rstheory.oracle.ErrorBound(np.full(3, 0.1), 0.001)),
            "oracle_error.eps_upper (3,)",
            "k (2,) and n (2,)",
        ),
    ],
)
def test_certify_arrays_that_do_not_broadcast_are_named_with_their_shapes(kwargs, bad, others):
    """Not jax's 'Incompatible shapes for broadcasting: shapes=[(2,), (2,), (), (3,), ...]'."""
    name, shape = bad.split(" ")
    want = f"{name} of shape {shape} does not broadcast with {others} (k, n, sigma, alpha"
    with pytest.raises(ValueError) as err:
        rstheory.certify([9, 10], [10, 10], **kwargs)
    assert str(err.value).startswith(want), str(err.value)
    with pytest.raises(ValueError) as err:  # shapes are known under jit too
        jax.jit(lambda k: rstheory.certify(k, [10, 10], **kwargs))(jnp.array([9.0, 10.0]))
    assert str(err.value).startswith(want), str(err.value)


def test_certify_broadcasts_arrays_that_do():
    """A column of sigmas against a row of counts: the outer table, entry by entry as scalars."""
    sigma = np.array([[0.25], [0.5]])
    cert = rstheory.certify([990, 600, 400], 1000, sigma=sigma)
    assert cert.radius.shape == (2, 3)
    for i, s in enumerate(sigma[:, 0]):
        for j, k in enumerate([990, 600, 400]):
            one = float(rstheory.certify(k, 1000, sigma=s).radius)
            assert float(cert.radius[i, j]) == pytest.approx(one, rel=RTOL_SAME_COMPUTATION)


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        (dict(sigma=[1.0, 2.0, 3.0]), "sigma of shape (3,) does not broadcast with p_lower (2,)"),
        (
            dict(sigma=1.0, p_b_upper=[0.1, 0.2, 0.3]),
            "p_b_upper of shape (3,) does not broadcast with p_lower (2,)",
        ),
    ],
)
def test_certified_radius_arrays_that_do_not_broadcast_are_named(kwargs, want):
    with pytest.raises(ValueError, match=re.escape(want)):
        rstheory.certified_radius([0.6, 0.7], **kwargs)
