"""Dataset-level intervals, other-n predictions (against the 2024 paper's runs) and the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats

from rstheory import analyze
from rstheory._cli import main

DATA = Path(__file__).resolve().parents[2] / "data"
P2 = DATA / "p2-certifications"
COHEN_IMAGENET = DATA / "cohen2019/certify/imagenet/resnet50/noise_0.50/test/sigma_0.50"


def test_intervals_match_scipy_beta():
    c, m = np.array([0, 17, 300, 500]), 500
    ci = analyze.accuracy_interval(c, m, alpha=0.001, confidence=0.9)
    lo = np.where(c > 0, scipy.stats.beta.ppf(0.05, np.maximum(c, 1), m - c + 1), 0.0)
    hi = np.where(c < m, scipy.stats.beta.ppf(0.95, c + 1, np.maximum(m - c, 1)), 1.0)
    np.testing.assert_allclose(ci.low, lo, atol=1e-10)
    np.testing.assert_allclose(ci.high, hi, atol=1e-10)
    f = scipy.stats.binom.ppf(0.95, m, 0.001)
    assert (ci.false_certificates == f).all() and scipy.stats.binom.sf(f, m, 0.001) <= 0.05
    k = np.maximum(c - f, 0)
    rl = np.where(k > 0, scipy.stats.beta.ppf(0.05, np.maximum(k, 1), m - k + 1), 0.0)
    np.testing.assert_allclose(ci.robust_low, rl, atol=1e-10)
    sm = pytest.importorskip("statsmodels.stats.proportion")
    low, high = sm.proportion_confint(300, 500, alpha=0.1, method="beta")
    assert abs(ci.low[2] - low) < 1e-10 and abs(ci.high[2] - high) < 1e-10
    with pytest.raises(ValueError, match="confidence must lie in"):
        analyze.accuracy_interval(1, 2, confidence=1.0)


def test_robust_bound_covers_under_false_certificates():
    # m inputs, true robust-correct with probability A; a robust input is certified with
    # probability 0.7, a non-robust one falsely with probability alpha (the worst case).
    # Miscoverage must be <= delta = 0.1. With 4000 trials, the test fails when the observed
    # rate exceeds 0.1 + 0.016 (3.4 sd of a rate of 0.1): false-failure budget below 1e-3.
    rng = np.random.default_rng(7)
    m, big_a, alpha, trials = 200, 0.6, 0.05, 4000
    robust = rng.random((trials, m)) < big_a
    cert = np.where(robust, rng.random((trials, m)) < 0.7, rng.random((trials, m)) < alpha)
    ci = analyze.accuracy_interval(cert.sum(1), m, alpha=alpha, confidence=0.9)
    assert (ci.robust_low > big_a).mean() <= 0.1 + 0.016
    # the plain interval ignores false certificates: with certification probability
    # a = 0.7 A + alpha (1 - A) it covers a, not A
    a = 0.7 * big_a + alpha * (1 - big_a)
    assert ((ci.low <= a) & (a <= ci.high)).mean() >= 0.9 - 0.016


def _direct_acr(p, n, alpha, sigma):
    """Independent route: the sum over k of the binomial pmf times the radius (scipy)."""
    k = np.arange(n + 1)
    lower = np.where(k > 0, scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
    rad = np.where(lower > 0.5, sigma * scipy.special.ndtri(lower), 0.0)
    return np.mean([scipy.stats.binom.pmf(k, n, q) @ rad for q in p])


def test_prediction_is_the_exact_sum():
    log = analyze.read_log(P2 / "cifar10_resnet110_sigma0.5_alpha0.001_n1000.csv")
    pred = analyze.predict(log, [25, 100], radii=[0.0])
    p = analyze.input_probabilities(log)
    for n, acr in zip([25, 100], pred.acr, strict=True):
        assert acr == pytest.approx(_direct_acr(p, n, 0.001, 0.5), rel=1e-9)
    assert pred.stages == "single-stage" and (pred.acr == pred.acr_low).all()
    two = analyze.predict(log, [25, 100], n0=10)
    assert two.stages == "two-stage (n0 = 10)" and (two.acr_low <= two.acr).all()
    assert (two.acr_low < two.acr).any()


@pytest.mark.parametrize("model", ["empirical", "fit"])
def test_predicted_from_n100000_matches_measured_small_n(model):
    """Prediction from Cohen et al.'s n = 100,000 ImageNet run vs the 2024 runs at 100 to 500.

    The small-n runs drew fresh noise on the same 500 inputs, so a measured ACR differs from
    its expectation by its binomial sd (sqrt(sum_i Var R_i) / m, from radius_moments), times
    sqrt(2) for the noise of the p_i themselves and of the rounded radii: we allow 4 of them.
    """
    from rstheory import scaling

    ref = analyze.read_log(P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv", n0=100)
    ns = [100, 250, 500]
    pred = analyze.predict(ref, ns, model=model, n0=0)
    p = analyze.input_probabilities(ref)
    _, var = scaling.radius_moments(p, ns, alpha=0.001, sigma=0.5)
    sd = np.sqrt(var.sum(axis=1)) / p.size * np.sqrt(2.0)
    for j, n in enumerate(ns):
        measured = analyze.read_log(P2 / f"imagenet_resnet50_sigma0.5_alpha0.001_n{n}.csv").acr()
        tol = 4 * sd[j] + (0.015 if model == "fit" else 0.0)  # the fit smooths the law
        assert abs(pred.acr[j] - measured) < tol, (n, pred.acr[j], measured, sd[j])


def test_target_ratio_brackets_the_grid():
    # two-stage (the file's n0 = 100): the target is on acr_low, the selection's lower end
    log = analyze.read_log(P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv")
    for n0, field in ((100, "acr_low"), (0, "acr")):
        pred = analyze.predict(log, [1000, 100_000], target_ratio=0.7, n0=n0)
        assert 100 < pred.target_n < 100_000
        at = analyze.predict(log, [pred.target_n - 1, pred.target_n], n0=n0)
        got = getattr(at, field)
        assert got[1] >= 0.7 * pred.run_expected > got[0], (n0, pred.target_n)


def test_cli_json_plot_and_errors(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "acc.png"
    args = [str(COHEN_IMAGENET), "--n", "100000", "--n0", "100", "--radii", "0.5", "1.0"]
    assert main(["analyze", *args, "--predict-n", "100", "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    (one,) = out["logs"]
    assert (
        one["radii"][0]["accuracy"] == 0.458
        and one["prediction"]["stages"] == "two-stage (n0 = 100)"
    )
    assert one["counts"]["inconsistent"] > 0  # these radii need alpha = 0.01 at n = 100,000
    assert png.stat().st_size > 1000
    assert main(["analyze", str(COHEN_IMAGENET), "--predict-n", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rstheory analyze: error: ") and "--n" in err[0]
    assert main(["analyze", str(tmp_path / "missing.tsv")]) == 2
    assert "missing.tsv: no such file" in capsys.readouterr().err
