"""The demo's planner step (rsvlm._demo_plan): its plan is the library's, and the reason
printed beside a missing first-order estimate is the one that applies to the fit."""

import types

import pytest

from rstheory import distributions, planning
from rsvlm._demo_plan import render, step_plan

ROWS = [{"status": "ok", "n0": 4, "n": 16, "timings": {"selection": 1.0, "estimation": 2.0}}]


def _cfg(reference_n):
    return types.SimpleNamespace(
        alpha=0.001,
        sigma=0.25,
        target_ratio=0.9,
        reference_n=reference_n,
        batch_size=8,
        campaign_inputs=10,
        model_kind="random",
        example_seconds_per_batch=0.0,
    )


@pytest.mark.parametrize(
    ("fit", "reference_n", "why"),
    [
        ({"a": 8.0, "b": 2.0, "w0": 0.1, "w1": 0.05}, 10_000, "mass 0.05 at p = 1"),
        ({"a": 8.0, "b": 2.0, "w0": 0.0, "w1": 0.0}, 20, "no positive radius at reference_n=20"),
    ],
)
def test_the_reason_of_a_missing_closed_form_is_the_one_that_applies(fit, reference_n, why):
    p = step_plan(fit, ROWS, _cfg(reference_n))
    law = distributions.Mixture(
        [distributions.PointMass(0.0), distributions.PointMass(1.0), distributions.Beta(8, 2)],
        [fit["w0"], fit["w1"], 1.0 - fit["w0"] - fit["w1"]],
    )
    kw = dict(alpha=0.001, sigma=0.25, target_ratio=0.9, reference_n=reference_n)
    assert p["n"] == planning.required_samples(law, **kw).n
    assert p["closed_form_n"] != p["closed_form_n"]  # nan
    text = "\n".join(render({"plan": p}))
    assert why in text and "atom at p = 1, however small" not in text
    assert "The exact search does not need it." in text


def test_no_reason_is_printed_when_the_closed_form_is_a_number():
    p = step_plan({"a": 8.0, "b": 2.0, "w0": 0.0, "w1": 0.0}, ROWS, _cfg(10_000))
    assert p["closed_form_reason"] is None and p["closed_form_n"] > 0
    assert "(nan:" not in "\n".join(render({"plan": p}))
