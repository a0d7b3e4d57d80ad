"""The sentences of the demo's attack section (rsvlm._demo_attack) for rates it may be given."""

from rsvlm._demo_attack import _bound_line, _reading


def _rate(**kw):
    row = {"against": "smoothed", "side": "below", "trials": 5, "successes": 0, "low": 0.0}
    return {**row, "high": 0.52, "bound": 0.003, "consistent": True, **kw}


def test_per_input_bound_is_named_as_the_largest_over_inputs():
    # sampler.attack.summarize(..., per="input") reports the largest per-input union bound;
    # inputs may differ in their number m of budgets below R (absolute budgets).
    text = _bound_line([_rate()], per="input")
    assert "largest over the inputs is 0.003" in text
    assert "0 of 5 inputs broken" in text and "the bound holds" in text
    assert "is VIOLATED" in _bound_line([_rate(consistent=False, low=0.01)], per="input")


def test_no_smoothed_row_below_r_says_the_bound_is_not_tested():
    for per in ("row", "input"):
        assert "not tested" in _bound_line([_rate(side="above")], per=per)


def _attack(curve):
    return {"curve": curve, "config": {"steps": 20, "draws": 8}}


def test_the_reading_of_the_curve_follows_its_numbers():
    above = [{"eps": 0.25, "certified": 0.5, "smoothed": 0.75, "base": 0.5}]
    assert "stays at or above the certified accuracy" in _reading(_attack(above))
    below = [{**above[0], "smoothed": 0.25}, {**above[0], "eps": 0.5}]
    text = _reading(_attack(below))
    assert "At eps = 0.25 the smoothed model's empirical accuracy is below" in text
    # No absolute budget (only multiples of R): nothing is claimed about every budget.
    for curve in ([], [{**above[0], "smoothed": None}]):
        text = _reading(_attack(curve))
        assert "no empirical curve" in text and "every budget" not in text
