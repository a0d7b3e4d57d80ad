"""The 0.1 spellings of rstheory's public API: each warns with DeprecationWarning and gives
the same result as the 0.2 spelling (they are removed in 0.3)."""

from __future__ import annotations

import numpy as np
import pytest

import rstheory
from rstheory import bounds, distributions, oracle, published, scaling, sequential

BOUNDARIES = dict(radius=0.5, sigma=0.5, alpha=0.001, batch_size=100, n_max=300)

# (old call, new call): the old one passes, positionally, parameters that 0.2 takes by keyword.
POSITIONAL = {
    "cp_lower": (
        lambda: rstheory.cp_lower(90, 100, 0.01),
        lambda: rstheory.cp_lower(90, 100, alpha=0.01),
    ),
    "cp_upper": (
        lambda: rstheory.cp_upper(10, 100, 0.01),
        lambda: rstheory.cp_upper(10, 100, alpha=0.01),
    ),
    "cp_interval": (
        lambda: rstheory.cp_interval(5, 10, 0.05),
        lambda: rstheory.cp_interval(5, 10, alpha=0.05),
    ),
    "certified_radius": (
        lambda: rstheory.certified_radius(0.99, 0.5),
        lambda: rstheory.certified_radius(0.99, sigma=0.5),
    ),
    "lower_bound": (
        lambda: bounds.lower_bound(90, 100, 0.05, method="hoeffding"),
        lambda: bounds.lower_bound(90, 100, alpha=0.05, method="hoeffding"),
    ),
    "upper_bound": (
        lambda: bounds.upper_bound(10, 100, 0.05),
        lambda: bounds.upper_bound(10, 100, alpha=0.05),
    ),
    "betabinomial_cs": (
        lambda: bounds.betabinomial_cs(90, 100, 0.001),
        lambda: bounds.betabinomial_cs(90, 100, alpha=0.001),
    ),
    "betting_cs_lower": (
        lambda: bounds.betting_cs_lower(np.ones((1, 20)), 0.05),
        lambda: bounds.betting_cs_lower(np.ones((1, 20)), alpha=0.05),
    ),
    "simultaneous_bounds": (
        lambda: bounds.simultaneous_bounds([80, 15, 5], 0.05),
        lambda: bounds.simultaneous_bounds([80, 15, 5], alpha=0.05),
    ),
    "two_class_radius": (
        lambda: bounds.two_class_radius([80, 15, 5], 0.05, 0.5),
        lambda: bounds.two_class_radius([80, 15, 5], alpha=0.05, sigma=0.5),
    ),
    "checkpoints": (
        lambda: sequential.checkpoints(100, 350),
        lambda: sequential.checkpoints(batch_size=100, n_max=350),
    ),
    "default_prior": (
        lambda: sequential.default_prior(0.75, 10),
        lambda: sequential.default_prior(0.75, size=10),
    ),
    "target_probability": (
        lambda: sequential.target_probability(0.5, 0.5),
        lambda: sequential.target_probability(radius=0.5, sigma=0.5),
    ),
    "operating_characteristics": (
        lambda: sequential.operating_characteristics([0.9], sequential.boundaries(**BOUNDARIES)),
        lambda: sequential.operating_characteristics(
            [0.9], bounds=sequential.boundaries(**BOUNDARIES)
        ),
    ),
    "observed_probability": (
        lambda: oracle.observed_probability(0.8, 0.1),
        lambda: oracle.observed_probability(0.8, eps=0.1),
    ),
    "corrected_probability": (
        lambda: oracle.corrected_probability(0.8, 0.1),
        lambda: oracle.corrected_probability(0.8, eps=0.1),
    ),
    "correction_derivative": (
        lambda: oracle.correction_derivative(0.8, 0.1),
        lambda: oracle.correction_derivative(0.8, eps=0.1),
    ),
    "certified_accuracy": (
        lambda: scaling.certified_accuracy(distributions.PointMass(0.9), 100, 0.5, sigma=1.0),
        lambda: scaling.certified_accuracy(
            distributions.PointMass(0.9), 100, radius=0.5, sigma=1.0
        ),
    ),
    "measured_samples_for_ratio": (
        lambda: published.measured_samples_for_ratio([10, 100, 1000], [0.2, 0.6, 1.0], 0.8),
        lambda: published.measured_samples_for_ratio([10, 100, 1000], [0.2, 0.6, 1.0], target=0.8),
    ),
    "available": (
        lambda: published.available("/nonexistent"),
        lambda: published.available(data_dir="/nonexistent"),
    ),
    "Beta": (
        lambda: distributions.Beta(2.0, 3.0, 0.5, 0.9).mean(),
        lambda: distributions.Beta(2.0, 3.0, low=0.5, high=0.9).mean(),
    ),
}


def _same(got, want):
    if isinstance(want, tuple):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
    else:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_positional_parameters_of_0_1_warn_and_agree(name):
    old, new = POSITIONAL[name]
    want = new()
    with pytest.warns(DeprecationWarning, match="as a keyword"):
        got = old()
    _same(got, want)


def test_the_old_positional_form_takes_no_more_arguments_than_0_1():
    with pytest.raises(TypeError, match="at most 3 positional"):
        rstheory.cp_lower(90, 100, 0.01, 0.5)  # type: ignore[misc]


def test_levels_default_to_cohen_et_al():
    """alpha = 0.001 wherever alpha is the level of a bound or a certificate."""
    assert float(rstheory.cp_lower(90, 100)) == float(rstheory.cp_lower(90, 100, alpha=0.001))
    assert float(bounds.lower_bound(90, 100)) == float(rstheory.cp_lower(90, 100, alpha=0.001))
    assert float(scaling.average_radius_ratio(100)) == float(
        scaling.average_radius_ratio(100, alpha=0.001)
    )


@pytest.mark.parametrize(
    ("old", "new"), [("betabinomial", "betabinomial_cs"), ("clopper-pearson", "clopper_pearson")]
)
def test_sequential_methods_of_0_1_warn_and_agree(old, new):
    want = sequential.boundaries(**BOUNDARIES, method=new)
    with pytest.warns(DeprecationWarning, match=f"method={old!r} is spelled method={new!r}"):
        got = sequential.boundaries(**BOUNDARIES, method=old)
    assert got.method == want.method == new
    np.testing.assert_array_equal(got.k_certify, want.k_certify)
    np.testing.assert_array_equal(got.k_futile, want.k_futile)


def test_sequential_methods_are_named_as_the_bounds():
    assert set(sequential.METHODS) <= set(bounds.METHODS)


def test_fit_model_of_0_1_warns_and_agrees():
    rng = np.random.default_rng(0)
    k = rng.binomial(50, rng.beta(8.0, 2.0, size=40))
    want = distributions.fit(k, 50, model="beta_atoms")
    with pytest.warns(DeprecationWarning, match="model='beta-atoms' is spelled"):
        got = distributions.fit(k, 50, model="beta-atoms")
    assert got.log_likelihood == want.log_likelihood


def test_results_are_named_tuples_that_still_unpack():
    moments = scaling.radius_moments([0.0, 1.0], 100, sigma=1.0)
    mean, var = moments
    assert isinstance(moments, scaling.RadiusMoments) and mean is moments.mean
    assert var is moments.variance
    p = rstheory.cp_lower([0, 37, 100], 100)
    rec = published.recover_counts(p, 100)
    k, _ = rec
    assert isinstance(rec, published.RecoveredCounts) and k.tolist() == rec.k.tolist() == [
        0,
        37,
        100,
    ]
    a, b = prior = sequential.default_prior(0.75, size=10)
    assert isinstance(prior, sequential.BetaPrior) and (prior.a, prior.b) == (a, b) == (7.5, 2.5)
