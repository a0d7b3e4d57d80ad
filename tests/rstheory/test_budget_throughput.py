"""Tests of rstheory.planning.Throughput and the ``samples_per_second`` route of
rstheory.planning.budget and samples_within_budget: a measured throughput per device gives
the same answers as the equivalent ``seconds_per_batch = batch_size / samples_per_second``,
exactly one of the two must be given, the object refuses bad values naming the argument, and
the 0.1 flat keywords still work with a DeprecationWarning and the same results."""

import dataclasses
import math
import re

import numpy as np
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
        throughput=planning.Throughput(
            batch_size=batch_size,
            samples_per_second=rate,
            devices=devices,
            price_per_device_hour=2.0,
        ),
    )
    want = planning.budget(
        n,
        inputs,
        throughput=planning.Throughput(
            batch_size=batch_size,
            seconds_per_batch=batch_size / rate,
            devices=devices,
            price_per_device_hour=2.0,
        ),
    )
    assert got.batches == want.batches
    for a, b in zip(got[1:], want[1:], strict=True):
        assert math.isclose(a, b, rel_tol=RTOL_SAME_COMPUTATION)


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
        wall,
        inputs,
        throughput=planning.Throughput(
            batch_size=batch_size, samples_per_second=rate, devices=devices
        ),
    )
    want = planning.samples_within_budget(
        wall,
        inputs,
        throughput=planning.Throughput(
            batch_size=batch_size, seconds_per_batch=batch_size / rate, devices=devices
        ),
    )
    assert got == want


def test_devices_divide_the_wall_time_of_a_measured_throughput():
    one = planning.budget(
        1000, 500, throughput=planning.Throughput(batch_size=50, samples_per_second=25.0)
    )
    two = planning.budget(
        1000,
        500,
        throughput=planning.Throughput(batch_size=50, samples_per_second=25.0, devices=2),
    )
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
        func(100, 10, throughput=planning.Throughput(batch_size=10, **kw))


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
    hardware = planning.Throughput(
        batch_size=batch_size, seconds_per_batch=0.7, devices=devices, price_per_device_hour=3.0
    )
    got = planning.expected_budget(float(whole), inputs, throughput=hardware)
    want = planning.budget(n, inputs, throughput=hardware)
    assert got.batches == pytest.approx(want.batches, rel=RTOL_SAME_COMPUTATION)
    for a, b in zip(got[1:], want[1:], strict=True):
        assert math.isclose(a, b, rel_tol=RTOL_SAME_COMPUTATION)


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
        planning.expected_budget(
            args.pop("expected_samples"), args.pop("inputs"), throughput=planning.Throughput(**args)
        )


FLAT = dict(batch_size=50, samples_per_second=40.0, devices=2)
PRICED = dict(batch_size=100, seconds_per_batch=2.8, devices=4, price_per_device_hour=2.0)


@pytest.mark.parametrize(
    ("func", "data", "flat"),
    [
        (planning.budget, (1000, 500), PRICED),
        (planning.budget, (1000, 500), FLAT),
        (planning.expected_budget, (250.0, 500), PRICED),
        (planning.expected_budget, (250.0, 500), FLAT),
        (planning.samples_within_budget, (3600.0, 500), FLAT),
        (planning.samples_within_budget, (3500.0, 500), dict(PRICED, price_per_device_hour=None)),
    ],
)
def test_flat_keywords_warn_and_give_the_same_result(func, data, flat):
    """Each 0.1 call with flat keywords warns, naming throughput=Throughput(...), and gives
    exactly the result of the call with the object."""
    flat = {k: v for k, v in flat.items() if v is not None}
    want = func(*data, throughput=planning.Throughput(**flat))
    with pytest.warns(DeprecationWarning, match=re.escape("throughput=Throughput(")):
        got = func(*data, **flat)
    if isinstance(want, planning.Budget) and math.isnan(want.cost):
        assert math.isnan(got.cost)
        want, got = want[:-1], got[:-1]
    assert got == want


def test_flat_keywords_keep_the_0_1_defaults():
    with pytest.warns(DeprecationWarning):
        got = planning.budget(1000, 500, seconds_per_batch=0.5)
    hardware = planning.Throughput(seconds_per_batch=0.5)
    assert (hardware.batch_size, hardware.devices) == (32, 1)
    assert got[:-1] == planning.budget(1000, 500, throughput=hardware)[:-1]


def test_flat_keywords_and_the_object_together_or_an_unknown_keyword_refused():
    hardware = planning.Throughput(seconds_per_batch=1.0)
    with pytest.raises(TypeError, match="not both"):
        planning.budget(100, 10, throughput=hardware, devices=2)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="price_per_device_hour"):
        planning.samples_within_budget(
            10.0, 1, batch_size=10, seconds_per_batch=1.0, price_per_device_hour=2.0
        )
    not_one = re.escape("throughput must be an rstheory.planning.Throughput, got dict")
    for func in (planning.budget, planning.expected_budget, planning.samples_within_budget):
        with pytest.raises(TypeError, match=not_one):
            func(100, 10, throughput={"seconds_per_batch": 1.0})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
        (dict(batch_size=2.5), "batch_size must be an integer >= 1, got 2.5"),
        (dict(batch_size=True), "batch_size must be an integer >= 1, got True"),
        (dict(seconds_per_batch=0.0), "seconds_per_batch must lie in (0, inf), got 0.0"),
        (dict(seconds_per_batch=-1.0), "seconds_per_batch must lie in (0, inf), got -1.0"),
        (dict(seconds_per_batch=float("nan")), "seconds_per_batch must not be NaN"),
        (dict(samples_per_second=0.0), "samples_per_second must lie in (0, inf), got 0.0"),
        (dict(samples_per_second=float("inf")), "samples_per_second must lie in (0, inf)"),
        (dict(devices=0), "devices must be an integer >= 1, got 0"),
        (dict(devices=1.5), "devices must be an integer >= 1, got 1.5"),
        (dict(price_per_device_hour=-1.0), "price_per_device_hour must lie in [0, inf), got -1.0"),
        (dict(price_per_device_hour=float("nan")), "price_per_device_hour must not be NaN"),
    ],
)
def test_throughput_refuses_bad_values_naming_the_argument(kw, message):
    speed = (
        {} if {"seconds_per_batch", "samples_per_second"} & set(kw) else {"seconds_per_batch": 1.0}
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        planning.Throughput(**speed, **kw)


@pytest.mark.parametrize(
    "kw", [{}, dict(seconds_per_batch=1.0, samples_per_second=10.0)], ids=["neither", "both"]
)
def test_throughput_needs_exactly_one_speed(kw):
    with pytest.raises(ValueError, match="give exactly one of seconds_per_batch"):
        planning.Throughput(batch_size=10, **kw)


def test_throughput_is_frozen_keyword_only_and_normalized():
    hardware = planning.Throughput(batch_size=100.0, samples_per_second=40, devices=np.int64(2))
    assert type(hardware.batch_size) is int and type(hardware.devices) is int
    assert type(hardware.samples_per_second) is float and hardware.seconds_per_batch is None
    assert hardware.batch_seconds == 100 / 40.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        hardware.devices = 3
    with pytest.raises(TypeError):
        planning.Throughput(32, 1.0)
    assert "Throughput" in planning.__all__
