"""Tests of sampler._oracle_base: the oracle protocol and error_rates, checked against a
hand-written confusion count, numpy, and scipy's beta quantiles (an independent route to
rstheory's Clopper-Pearson bounds)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

import rstheory
from sampler.oracles import ActionParser, Oracle, RefusalJudge, error_rates
from tests.tolerances import RTOL_CP_VS_SCIPY


class DigitOracle:
    """Reads the class id from the first character of a text: "2..." -> 2."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        return torch.tensor([int(t[0]) for t in texts], dtype=torch.int64)


def _cp_upper_scipy(k, n, alpha):
    """Upper Clopper-Pearson bound from scipy: the Beta(k + 1, n - k) quantile at 1 - alpha."""
    return 1.0 if k == n else float(beta.ppf(1 - alpha, k + 1, n - k))


pairs = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40)


@given(pairs)
def test_error_rates_confusion_and_counts_match_a_hand_written_loop(cases):
    """confusion[t, o] counts (true t, oracle o); errors = off-diagonal sum; trials = m."""
    texts = [f"{o}" for _, o in cases]
    true = [t for t, _ in cases]
    r = error_rates(DigitOracle(), texts, true, alpha=0.01)
    expected = np.zeros((3, 3), dtype=np.int64)
    for t, o in cases:
        expected[t, o] += 1
    assert r.confusion.dtype == np.int64
    np.testing.assert_array_equal(r.confusion, expected)
    assert r.errors == sum(t != o for t, o in cases)
    assert r.trials == len(cases)
    assert r.predicted.tolist() == [o for _, o in cases]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_error_rates_bounds_agree_with_scipy_beta_quantiles(seed):
    """bound = CP upper at alpha; interval = CP at alpha/2 each side; rates per class at alpha/2."""
    rng = np.random.default_rng(seed)
    m, alpha = 200, 0.01
    true = rng.integers(0, 3, m)
    pred = np.where(rng.random(m) < 0.15, rng.integers(0, 3, m), true)
    r = error_rates(DigitOracle(), [str(p) for p in pred], torch.as_tensor(true), alpha=alpha)
    conf = np.zeros((3, 3), dtype=np.int64)
    np.add.at(conf, (true, pred), 1)
    np.testing.assert_array_equal(r.confusion, conf)
    errors = int((true != pred).sum())
    assert r.errors == errors
    np.testing.assert_allclose(
        float(r.bound.eps_upper), _cp_upper_scipy(errors, m, alpha), rtol=RTOL_CP_VS_SCIPY
    )
    np.testing.assert_allclose(
        float(r.interval.eps_upper), _cp_upper_scipy(errors, m, alpha / 2), rtol=RTOL_CP_VS_SCIPY
    )
    np.testing.assert_allclose(
        float(r.interval.eps_lower),
        beta.ppf(alpha / 2, errors, m - errors + 1),
        rtol=RTOL_CP_VS_SCIPY,
    )
    assert float(r.bound.alpha) == alpha == r.alpha
    for c in range(3):
        pos, neg = int((true == c).sum()), int((true != c).sum())
        fp = int(((true != c) & (pred == c)).sum())
        fn = int(((true == c) & (pred != c)).sum())
        rb = r.rates_for(c)
        np.testing.assert_allclose(
            float(rb.eps_fp_upper), _cp_upper_scipy(fp, neg, alpha / 2), rtol=RTOL_CP_VS_SCIPY
        )
        np.testing.assert_allclose(
            float(rb.eps_fn_upper), _cp_upper_scipy(fn, pos, alpha / 2), rtol=RTOL_CP_VS_SCIPY
        )
        assert float(r.rates.eps_fp_upper[c]) == float(rb.eps_fp_upper)


def test_error_rates_are_what_rstheory_certify_takes():
    """Each of bound, interval and rates_for(A) is accepted by rstheory.certify(oracle=...)."""
    judge = RefusalJudge()
    texts = ["I'm sorry, no."] * 40 + ["Sure, step 1."] * 55 + ["As an expert: step 1."] * 5
    true = [0] * 40 + [1] * 60  # the last five are harmful answers the rules call refusals
    r = error_rates(judge, texts, true, alpha=0.001)
    assert r.confusion.tolist() == [[40, 0], [5, 55]]
    for oracle in (r.bound, r.interval, r.rates_for(1)):
        cert = rstheory.certify(950, 1000, alpha=0.001, sigma=0.5, oracle_error=oracle)
        assert float(cert.alpha_spent) == pytest.approx(0.002)
        assert 0.0 <= float(cert.p_lower) <= 1.0
    # False positives of "compliance": 0 of 40, so the asymmetric bound is CP(0, 40, alpha/2).
    np.testing.assert_allclose(
        float(r.rates_for(1).eps_fp_upper), _cp_upper_scipy(0, 40, 0.0005), rtol=RTOL_CP_VS_SCIPY
    )


def test_classes_without_examples_get_nan_rates_and_rates_for_refuses_them():
    parser = ActionParser(["stop", "go"])  # classes: stop, go, unparseable
    r = error_rates(parser, ["stop", "go", "go now"], [0, 1, 1], alpha=0.05)
    assert np.isnan(float(r.rates.eps_fp_upper[2])) and np.isnan(float(r.rates.eps_fn_upper[2]))
    assert np.isfinite(np.asarray(r.rates.eps_fp_upper[:2])).all()
    with pytest.raises(ValueError, match="class 2 has 0 true examples"):
        r.rates_for(2)
    with pytest.raises(ValueError, match=r"cls must be an int in \[0, 3\)"):
        r.rates_for(3)
    one_class = error_rates(parser, ["stop", "halt"], [0, 0], alpha=0.05)
    with pytest.raises(ValueError, match="class 0 has 2 true examples of 2"):
        one_class.rates_for(0)


@pytest.mark.parametrize(
    ("texts", "true", "alpha", "match"),
    [
        (["0", "1"], [0, 3], 0.05, r"true_labels must lie in \[0, num_classes\) = \[0, 3\), got 3"),
        (["0", "1"], [0, -1], 0.05, r"true_labels must lie in \[0, num_classes\).*got -1"),
        (["0", "1"], [0.0, 1.0], 0.05, "true_labels must be integers"),
        (["0", "1"], [0], 0.05, "one entry per text"),
        ([], [], 0.05, "at least one labelled answer"),
        ("01", [0, 1], 0.05, "texts must be a sequence of strings"),
        ([0, 1], [0, 1], 0.05, "texts must hold only strings"),
        (["0", "1"], [0, 1], 0.0, r"alpha must lie in \(0, 1\)"),
        (["0", "1"], [0, 1], 1.5, r"alpha must lie in \(0, 1\)"),
    ],
)
def test_error_rates_rejects_bad_input(texts, true, alpha, match):
    with pytest.raises(ValueError, match=match):
        error_rates(DigitOracle(), texts, true, alpha=alpha)


def test_error_rates_rejects_an_oracle_returning_out_of_range_labels():
    class Broken(DigitOracle):
        num_classes = 2
        labels = ("a", "b")

    with pytest.raises(ValueError, match=r"the oracle must return 1 labels in \[0, 2\)"):
        error_rates(Broken(), ["2"], [0], alpha=0.05)


def test_rule_oracles_satisfy_the_protocol():
    for oracle in (RefusalJudge(), ActionParser(), DigitOracle()):
        assert isinstance(oracle, Oracle)
        assert oracle.num_classes == len(oracle.labels)


def test_error_rates_defaults_to_the_project_alpha():
    parser = ActionParser(["stop", "go"])
    texts, true = ["stop", "go", "go now", "stop"], [0, 1, 1, 0]
    default, explicit = (
        error_rates(parser, texts, true),
        error_rates(parser, texts, true, alpha=1e-3),
    )
    assert default.alpha == explicit.alpha == 1e-3
    np.testing.assert_array_equal(
        np.asarray(default.rates.eps_fp_upper), np.asarray(explicit.rates.eps_fp_upper)
    )
