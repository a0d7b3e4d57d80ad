"""Tests of rstheory.planning: sample-size search round trips against the exact
expectations of rstheory.scaling, budget arithmetic, and argument validation."""

import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory import distributions, planning, scaling
from tests.tolerances import (
    RTOL_EXACT_EXPECTATION,
    RTOL_FIRST_ORDER_N,
    RTOL_SAME_COMPUTATION,
)

ALPHA = 1e-3
SIGMA = 1.0
DISTS = [distributions.PointMass(0.9), distributions.Beta(8.0, 2.0)]
IDS = ["pointmass0.9", "beta8-2"]


def _radius(dist, n):
    return float(scaling.expected_radius(dist, n, alpha=ALPHA, sigma=SIGMA))


def _acc(dist, n, r0):
    return float(scaling.certified_accuracy(dist, n, radius=r0, alpha=ALPHA, sigma=SIGMA))


@pytest.mark.parametrize("dist", DISTS, ids=IDS)
@pytest.mark.parametrize(
    "kw",
    [dict(target_ratio=0.9), dict(target_ratio=0.9, reference_n=1000)],
    ids=["ratio-inf", "ratio-ref"],
)
def test_ratio_round_trip(dist, kw):
    plan = planning.required_samples(dist, alpha=ALPHA, sigma=SIGMA, **kw)
    if "reference_n" in kw:
        ref = _radius(dist, kw["reference_n"])
    else:
        x, w = dist.quadrature()
        ref = SIGMA * sum(
            float(wi) * float(scipy.special.ndtri(xi))
            for xi, wi in zip(x, w, strict=True)
            if xi > 0.5
        )
    assert plan.target == pytest.approx(0.9 * ref, rel=RTOL_EXACT_EXPECTATION)
    assert plan.n > 1
    assert _radius(dist, plan.n) >= plan.target
    assert _radius(dist, plan.n - 1) < plan.target
    assert plan.achieved == pytest.approx(_radius(dist, plan.n), rel=RTOL_SAME_COMPUTATION)
    # The first-order estimate is within a few percent of the exact answer here.
    assert plan.closed_form_n == pytest.approx(plan.n, rel=RTOL_FIRST_ORDER_N)


def test_radius_round_trip_pointmass():
    d = DISTS[0]
    plan = planning.required_samples(d, alpha=ALPHA, sigma=SIGMA, target_radius=1.0)
    assert plan.target == 1.0
    assert _radius(d, plan.n) >= 1.0 > _radius(d, plan.n - 1)
    assert plan.closed_form_n == pytest.approx(plan.n, rel=RTOL_FIRST_ORDER_N)


@pytest.mark.parametrize("dist", DISTS, ids=IDS)
def test_accuracy_round_trip(dist):
    plan = planning.required_samples(
        dist, alpha=ALPHA, sigma=SIGMA, target_accuracy=0.5, at_radius=0.5
    )
    assert _acc(dist, plan.n, 0.5) >= 0.5 > _acc(dist, plan.n - 1, 0.5)
    assert math.isnan(plan.closed_form_n)


def test_closed_form_matches_formula():
    d = DISTS[0]
    plan = planning.required_samples(d, alpha=ALPHA, sigma=SIGMA, target_ratio=0.9)
    c = float(scaling.first_order_constant(d))
    z = 3.090232306167813  # Phi^-1(1 - 1e-3)
    assert plan.closed_form_n == pytest.approx((c * z / 0.1) ** 2, rel=RTOL_EXACT_EXPECTATION)


def test_target_met_at_n_one():
    plan = planning.required_samples(
        DISTS[0], alpha=ALPHA, sigma=SIGMA, target_accuracy=1e-300, at_radius=0.0, n_max=100
    )
    assert plan.n >= 1


def test_unreachable_targets():
    d = DISTS[0]
    with pytest.raises(ValueError, match="radius cap"):
        planning.required_samples(d, alpha=ALPHA, sigma=SIGMA, target_radius=2.0, n_max=100)
    with pytest.raises(ValueError, match="infinite-sample mean radius"):
        planning.required_samples(d, alpha=ALPHA, sigma=SIGMA, target_radius=1.3)
    with pytest.raises(ValueError, match="infinite"):
        planning.required_samples(
            distributions.PointMass(1.0), alpha=ALPHA, sigma=SIGMA, target_ratio=0.5
        )
    with pytest.raises(ValueError, match="infinite-sample certified accuracy"):
        planning.required_samples(
            distributions.Beta(8.0, 2.0),
            alpha=ALPHA,
            sigma=SIGMA,
            target_accuracy=0.99,
            at_radius=0.5,
        )
    with pytest.raises(ValueError, match="n_max"):
        planning.required_samples(d, alpha=ALPHA, sigma=SIGMA, target_ratio=0.9, n_max=50)
    with pytest.raises(ValueError, match="nothing is certified"):
        planning.required_samples(
            distributions.PointMass(0.4), alpha=ALPHA, sigma=SIGMA, target_ratio=0.5
        )


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(), "exactly one"),
        (dict(target_ratio=0.5, target_radius=1.0), "exactly one"),
        (dict(target_ratio=1.0), "target_ratio"),
        (dict(target_ratio=0.0), "target_ratio"),
        (dict(target_radius=-1.0), "target_radius"),
        (dict(target_accuracy=0.5), "at_radius"),
        (dict(target_accuracy=1.5, at_radius=0.1), "target_accuracy"),
        (dict(target_accuracy=0.5, at_radius=-0.1), "at_radius"),
        (dict(target_radius=0.5, reference_n=10), "reference_n"),
        (dict(target_radius=0.5, at_radius=0.1), "at_radius"),
        (dict(target_ratio=0.5, reference_n=0), "reference_n"),
        (dict(target_ratio=0.5, n_max=0), "n_max"),
        (dict(target_ratio=0.5, n_max=2.5), "n_max"),
    ],
)
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        planning.required_samples(DISTS[0], alpha=ALPHA, sigma=SIGMA, **kw)


def test_bad_alpha_sigma_dist():
    with pytest.raises(ValueError, match="alpha"):
        planning.required_samples(DISTS[0], alpha=1.5, sigma=SIGMA, target_ratio=0.5)
    with pytest.raises(ValueError, match="sigma"):
        planning.required_samples(DISTS[0], alpha=ALPHA, sigma=0.0, target_ratio=0.5)
    with pytest.raises(ValueError, match="dist"):
        planning.required_samples(object(), alpha=ALPHA, sigma=SIGMA, target_ratio=0.5)


def test_budget_hand_computed():
    # 500 inputs, n = 1000, batches of 100 at 0.28 s each: 10 batches = 2.8 s per input.
    hardware = planning.Throughput(
        batch_size=100, seconds_per_batch=0.28, devices=2, price_per_device_hour=3.0
    )
    b = planning.budget(1000, 500, throughput=hardware)
    assert b.batches == 5000
    assert b.device_seconds == pytest.approx(1400.0)
    assert b.wall_seconds == pytest.approx(700.0)
    assert b.device_hours == pytest.approx(1400.0 / 3600.0)
    assert b.cost == pytest.approx(1400.0 / 3600.0 * 3.0)


def test_budget_partial_batch_and_no_price():
    b = planning.budget(
        101, 3, throughput=planning.Throughput(batch_size=50, seconds_per_batch=2.0)
    )
    assert b.batches == 9  # ceil(101 / 50) = 3 per input
    assert b.device_seconds == 18.0 and b.wall_seconds == 18.0
    assert b.device_hours == pytest.approx(0.005)
    assert math.isnan(b.cost)


@pytest.mark.parametrize(
    "n, inputs, bs, spb, dev",
    [
        (1000, 500, 100, 0.28, 2),
        (101, 3, 50, 2.0, 1),
        (7, 1, 1, 0.1, 3),
        (100_000, 10_000, 400, 0.037, 8),
    ],
)
def test_samples_within_budget_inverts_budget(n, inputs, bs, spb, dev):
    hardware = planning.Throughput(batch_size=bs, seconds_per_batch=spb, devices=dev)
    wall = planning.budget(n, inputs, throughput=hardware).wall_seconds
    m = planning.samples_within_budget(wall, inputs, throughput=hardware)
    assert m % bs == 0
    assert m == bs * math.ceil(n / bs)
    # Just below the wall time one batch per input fewer fits.
    m2 = planning.samples_within_budget(wall * (1 - 1e-6), inputs, throughput=hardware)
    assert m2 == m - bs


def test_samples_within_budget_zero():
    hardware = planning.Throughput(batch_size=100, seconds_per_batch=1.0)
    assert planning.samples_within_budget(0.0, 10, throughput=hardware) == 0
    assert planning.samples_within_budget(9.99, 10, throughput=hardware) == 0
    assert planning.samples_within_budget(10.0, 10, throughput=hardware) == 100


@pytest.mark.parametrize(
    "args, kw, match",
    [
        ((0, 10), dict(batch_size=10, seconds_per_batch=1.0), "n"),
        ((10, 0), dict(batch_size=10, seconds_per_batch=1.0), "inputs"),
        ((10, 10), dict(batch_size=0, seconds_per_batch=1.0), "batch_size"),
        ((10, 10), dict(batch_size=10, seconds_per_batch=0.0), "seconds_per_batch"),
        ((10, 10), dict(batch_size=10, seconds_per_batch=float("nan")), "seconds_per_batch"),
        ((10, 10), dict(batch_size=10, seconds_per_batch=1.0, devices=0), "devices"),
        (
            (10, 10),
            dict(batch_size=10, seconds_per_batch=1.0, price_per_device_hour=-1.0),
            "price_per_device_hour",
        ),
        ((10.5, 10), dict(batch_size=10, seconds_per_batch=1.0), "n"),
    ],
)
def test_budget_bad_arguments(args, kw, match):
    with pytest.raises(ValueError, match=match):
        planning.budget(*args, throughput=planning.Throughput(**kw))


def test_samples_within_budget_bad_arguments():
    hardware = planning.Throughput(batch_size=10, seconds_per_batch=1.0)
    with pytest.raises(ValueError, match="wall_seconds"):
        planning.samples_within_budget(-1.0, 10, throughput=hardware)
    with pytest.raises(ValueError, match="inputs"):
        planning.samples_within_budget(10.0, 0, throughput=hardware)
    with pytest.raises(ValueError, match="devices"):
        planning.samples_within_budget(
            10.0,
            1,
            throughput=planning.Throughput(batch_size=10, seconds_per_batch=1.0, devices=1.5),
        )


def test_public_names():
    import rstheory

    assert "planning" in rstheory.__all__
    assert rstheory.planning.Plan._fields == ("n", "achieved", "target", "closed_form_n")
    assert rstheory.planning.Budget._fields == (
        "batches",
        "device_seconds",
        "wall_seconds",
        "device_hours",
        "cost",
    )


@settings(max_examples=8)
@given(
    a=st.floats(2.0, 20.0),
    b=st.floats(0.5, 4.0),
    t=st.floats(0.3, 0.95),
    reference_n=st.sampled_from([None, 1000, 10**5]),
    sigma=st.sampled_from([0.25, 1.0]),
)
def test_planner_round_trip_property(a, b, t, reference_n, sigma):
    """For any Beta law of p_A and ratio target: the exact mean radius at the planned n meets
    the target and at n - 1 does not (the planner's defining property)."""
    dist = distributions.Beta(a, b)
    plan = planning.required_samples(
        dist, alpha=ALPHA, sigma=sigma, target_ratio=t, reference_n=reference_n
    )
    at = np.asarray(
        scaling.expected_radius(dist, [max(plan.n - 1, 1), plan.n], alpha=ALPHA, sigma=sigma)
    )
    assert at[1] >= plan.target
    assert plan.n == 1 or at[0] < plan.target


@settings(max_examples=8)
@given(low=st.floats(0.55, 0.9), width=st.floats(0.01, 0.09))
def test_ratio_tends_to_one_within_the_first_order_bound(low, width):
    """For p_A uniform on [low, low + width] inside (1/2, 1): E[R_n] / E[R_inf] increases towards
    1 over n = 1e3, 1e4, 1e5, 1e6, and 1 - ratio stays below twice the distribution-free
    first-order gap sup K(p) z / sqrt(n) (the factor 2 covers the second-order term)."""
    high = low + width
    dist = distributions.Uniform(low, high)
    ns = np.array([10**3, 10**4, 10**5, 10**6])
    x, w = dist.quadrature()
    r_inf = float(np.asarray(w) @ scipy.special.ndtri(np.asarray(x)))
    ratio = np.asarray(scaling.expected_radius(dist, ns, alpha=ALPHA, sigma=1.0)) / r_inf
    assert np.all(np.diff(ratio) > 0) and ratio[-1] < 1.0
    gap = 1.0 - np.asarray(scaling.distribution_free_ratio(ns, alpha=ALPHA, beta=low, p_max=high))
    assert np.all(1.0 - ratio <= 2.0 * gap)


_WITH_ATOM = distributions.Mixture(
    [distributions.PointMass(1.0), distributions.Beta(8.0, 2.0)], [0.2, 0.8]
)


@pytest.mark.parametrize(
    ("dist", "kw"),
    [
        (distributions.Beta(8.0, 2.0), dict(target_ratio=0.9)),
        (distributions.Beta(8.0, 2.0), dict(target_ratio=0.9, reference_n=1000)),
        (distributions.Beta(8.0, 2.0), dict(target_radius=0.3)),
        (distributions.Beta(8.0, 2.0), dict(target_ratio=0.9, reference_n=20)),
        (distributions.Beta(8.0, 2.0), dict(target_accuracy=0.6, at_radius=0.25)),
        (_WITH_ATOM, dict(target_ratio=0.9, reference_n=10**5)),
        (_WITH_ATOM, dict(target_radius=0.5)),
    ],
    ids=["ratio-inf", "ratio-ref", "radius", "ref-too-small", "accuracy", "atom-ref", "atom-rad"],
)
def test_closed_form_reason_is_given_exactly_when_the_estimate_is_nan(dist, kw):
    """The reason is recomputed from the law, not guessed: the atom's mass is that of the law,
    and a too-small reference_n is the one where 1 - c z / sqrt(reference_n) <= 0."""
    from rstheory._planning import closed_form_reason

    plan = planning.required_samples(dist, alpha=ALPHA, sigma=SIGMA, **kw)
    why = closed_form_reason(dist, alpha=ALPHA, sigma=SIGMA, **kw)
    assert (why is None) == math.isfinite(plan.closed_form_n), why
    c = float(scaling.first_order_constant(dist))
    z = float(scipy.special.ndtri(1.0 - ALPHA))
    if "target_accuracy" in kw:
        assert why.startswith("an accuracy target has no first-order law")
    elif dist is _WITH_ATOM:
        assert why.startswith("Pr(p_A) has mass 0.2 at p = 1, where Phi^-1(p) is infinite")
    elif kw.get("reference_n") == 20:
        assert 1.0 - c * z / math.sqrt(20) <= 0  # the law's own verdict, from scipy's z
        assert why.startswith("the first-order law gives no positive radius at reference_n=20")
        assert f"= {1.0 - c * z / math.sqrt(20):.4g} with c = {c:.4g}" in why
