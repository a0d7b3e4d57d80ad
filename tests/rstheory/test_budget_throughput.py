"""Tests of the ``samples_per_second`` route of rstheory.planning.budget and
samples_within_budget: a measured throughput per device gives the same answers as the
equivalent ``seconds_per_batch = batch_size / samples_per_second``, and exactly one of the
two must be given."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory import planning
from tests.tolerances import (
    RTOL_SAME_COMPUTATION,
)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5000),
    inputs=st.integers(1, 2000),
    batch_size=st.integers(1, 256),
    rate=st.floats(0.01, 1e5),
    devices=st.integers(1, 64),
)
def test_throughput_route_equals_seconds_per_batch(n, inputs, batch_size, rate, devices):
    got = planning.budget(
        n,
        inputs,
        batch_size=batch_size,
        samples_per_second=rate,
        devices=devices,
        price_per_device_hour=2.0,
    )
    want = planning.budget(
        n,
        inputs,
        batch_size=batch_size,
        seconds_per_batch=batch_size / rate,
        devices=devices,
        price_per_device_hour=2.0,
    )
    assert got.batches == want.batches
    for a, b in zip(got[1:], want[1:], strict=True):
        assert math.isclose(a, b, rel_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    wall=st.floats(0.0, 1e6),
    inputs=st.integers(1, 2000),
    batch_size=st.integers(1, 256),
    rate=st.floats(0.01, 1e5),
    devices=st.integers(1, 16),
)
def test_samples_within_budget_throughput_route(wall, inputs, batch_size, rate, devices):
    got = planning.samples_within_budget(
        wall, inputs, batch_size=batch_size, samples_per_second=rate, devices=devices
    )
    want = planning.samples_within_budget(
        wall, inputs, batch_size=batch_size, seconds_per_batch=batch_size / rate, devices=devices
    )
    assert got == want


def test_devices_divide_the_wall_time_of_a_measured_throughput():
    one = planning.budget(1000, 500, batch_size=50, samples_per_second=25.0)
    two = planning.budget(1000, 500, batch_size=50, samples_per_second=25.0, devices=2)
    assert one.device_seconds == two.device_seconds == 500 * 1000 / 25.0
    assert two.wall_seconds == one.wall_seconds / 2


@pytest.mark.parametrize("func", [planning.budget, planning.samples_within_budget])
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "exactly one of seconds_per_batch"),
        (dict(seconds_per_batch=1.0, samples_per_second=10.0), "exactly one of seconds_per_batch"),
        (dict(samples_per_second=0.0), r"samples_per_second must lie in \(0, inf\)"),
        (dict(samples_per_second=float("inf")), r"samples_per_second must lie in \(0, inf\)"),
        (dict(samples_per_second="fast"), "samples_per_second must be numeric"),
    ],
)
def test_exactly_one_positive_rate(func, kw, message):
    with pytest.raises(ValueError, match=message):
        func(100, 10, batch_size=10, **kw)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5000),
    inputs=st.integers(1, 2000),
    batch_size=st.integers(1, 256),
    devices=st.integers(1, 16),
)
def test_expected_budget_of_whole_batches_equals_budget(n, inputs, batch_size, devices):
    """At E[N] = ceil(n / b) b (every input uses the same whole batches) the expected budget
    is the fixed one."""
    whole = -(-n // batch_size) * batch_size
    got = planning.expected_budget(
        float(whole),
        inputs,
        batch_size=batch_size,
        seconds_per_batch=0.7,
        devices=devices,
        price_per_device_hour=3.0,
    )
    want = planning.budget(
        n,
        inputs,
        batch_size=batch_size,
        seconds_per_batch=0.7,
        devices=devices,
        price_per_device_hour=3.0,
    )
    assert got.batches == pytest.approx(want.batches, rel=RTOL_SAME_COMPUTATION)
    for a, b in zip(got[1:], want[1:], strict=True):
        assert math.isclose(a, b, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(expected_samples=0.0), "expected_samples"),
        (dict(expected_samples=float("nan")), "expected_samples"),
        (dict(expected_samples=10.0, seconds_per_batch=None), "exactly one"),
        (dict(expected_samples=10.0, devices=0), "devices"),
    ],
)
def test_expected_budget_bad_input(kwargs, match):
    args = dict(inputs=5, batch_size=10, seconds_per_batch=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        planning.expected_budget(args.pop("expected_samples"), args.pop("inputs"), **args)
