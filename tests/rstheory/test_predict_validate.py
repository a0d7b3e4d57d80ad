"""PREDICT's abstention predicted from Cohen et al.'s CERTIFY log against their PREDICT logs.

Independent routes: the files read line by line with ``str.split``; the critical counts
found with :func:`scipy.stats.binomtest`; the binomial tails and the interval from scipy.
"""

import functools
import pathlib

import numpy as np
import pytest
import scipy.stats

from rstheory import analyze
from rstheory._predict_validate import (
    PredictLog,
    abstention_range,
    markdown_table,
    read_predict_log,
    smallest_winning_count,
    validate_predict,
)
from tests.tolerances import RTOL_CP_VS_SCIPY, RTOL_SAME_COMPUTATION

ROOT = "data/cohen2019/"
CERTIFY = ROOT + "certify/imagenet/resnet50/noise_0.25/test/sigma_0.25"
PREDICT = ROOT + "predict/imagenet/resnet50/noise_0.25/test/N_{}"
NS = (100, 1000, 10_000, 100_000)
ALPHA = 0.001


@functools.cache
def _certify():
    return analyze.read_log(CERTIFY, n=100_000, n0=100, alpha="infer")


def _by_hand(path):
    """``{idx: abstained}`` from the file's lines."""
    lines = pathlib.Path(path).read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "correct", "time"]
    return {int(f[0]): int(f[2]) == -1 for f in (line.split("\t") for line in lines[1:])}


def _k_star_scipy(n, alpha):
    """Smallest ``k`` whose two-sided binomtest p-value against ``Bin(n, 1/2)`` is <= alpha."""
    return next(k for k in range(n // 2, n + 2) if scipy.stats.binomtest(k, n).pvalue <= alpha)


@pytest.mark.parametrize("n", NS)
def test_read_predict_log_matches_the_file(n):
    log = read_predict_log(PREDICT.format(n))
    hand = _by_hand(PREDICT.format(n))
    assert log.n == n and log.idx.tolist() == list(hand)
    assert log.abstain.tolist() == list(hand.values())
    assert np.isfinite(log.time).all()


def test_smallest_winning_count_against_binomtest():
    for alpha in (0.1, 0.05, 0.01, 0.001, 1e-6):
        t0 = next(t for t in range(1, 64) if scipy.stats.binomtest(t, t).pvalue <= alpha)
        assert smallest_winning_count(alpha=alpha) == t0


@pytest.mark.parametrize("n", [100, 1000])
def test_abstention_range_against_scipy_for_a_few_inputs(n):
    log = _certify()
    low, high = abstention_range(log, n, alpha=ALPHA)
    k_star = _k_star_scipy(n, ALPHA)
    t0 = smallest_winning_count(alpha=ALPHA)
    picks = [*np.flatnonzero(~log.abstain)[:6], *np.flatnonzero(log.abstain)[:2]]
    for i in picks:
        p_low = 0.0 if log.abstain[i] else log.k_low[i] / log.n
        ref_high = scipy.stats.binom.cdf(k_star - 1, n, p_low)
        ref_low = min(scipy.stats.binom.cdf(t0 - 1, n, log.k_high[i] / log.n), ref_high)
        assert high[i] == pytest.approx(ref_high, rel=RTOL_SAME_COMPUTATION, abs=1e-300)
        assert low[i] == pytest.approx(ref_low, rel=RTOL_SAME_COMPUTATION, abs=1e-300)
    assert (high[log.abstain] == 1.0).all()


@pytest.mark.parametrize("subset", ["all", "certified", "abstained"])
def test_validation_counts_interval_and_range_as_stated(subset):
    log = _certify()
    v = validate_predict(log, [PREDICT.format(n) for n in (100, 1000)], subset=subset)
    keep = {"all": np.ones(log.inputs, bool), "certified": ~log.abstain}.get(subset, log.abstain)
    for j, n in enumerate((100, 1000)):
        hand = _by_hand(PREDICT.format(n))
        rows = [i for i in range(log.inputs) if keep[i] and int(log.idx[i]) in hand]
        k = sum(hand[int(log.idx[i])] for i in rows)
        assert (v.inputs[j], v.abstained[j]) == (len(rows), k)
        assert (v.inputs_all[j], v.abstained_all[j]) == (len(hand), sum(hand.values()))
        ci = scipy.stats.binomtest(k, len(rows)).proportion_ci(0.95, method="exact")
        assert v.low[j] == pytest.approx(ci.low, rel=RTOL_CP_VS_SCIPY, abs=1e-300)
        assert v.high[j] == pytest.approx(ci.high, rel=RTOL_CP_VS_SCIPY)
        k_star = _k_star_scipy(n, ALPHA)
        p_low = np.where(log.abstain, 0.0, log.k_low / log.n)[rows]
        ref_high = scipy.stats.binom.cdf(k_star - 1, n, p_low).mean()
        assert v.predicted_high[j] == pytest.approx(ref_high, rel=RTOL_SAME_COMPUTATION)
        assert v.inside[j] == (v.predicted_low[j] <= v.high[j] and ref_high >= v.low[j])


def test_the_published_runs_lie_inside_the_predicted_range():
    v = validate_predict(_certify(), [PREDICT.format(n) for n in NS])
    assert v.inputs.tolist() == [427] * 4  # the CERTIFY log's inputs, all in PREDICT's 500
    assert v.inside.all()


def test_a_run_far_from_the_prediction_is_outside():
    real = read_predict_log(PREDICT.format(100_000))
    every = PredictLog(*real[:5], real.correct, np.ones(real.idx.size, bool), real.time)
    v = validate_predict(_certify(), [every])
    assert v.rate[0] == 1.0 and not v.inside[0]


def test_checks_name_the_argument(tmp_path):
    log = _certify()
    with pytest.raises(ValueError, match="subset"):
        validate_predict(log, [PREDICT.format(100)], subset="some")
    with pytest.raises(ValueError, match="n=1000 but the file name says n=100"):
        read_predict_log(PREDICT.format(100), n=1000)
    other = tmp_path / "predictions.tsv"
    other.write_text(pathlib.Path(PREDICT.format(100)).read_text())
    with pytest.raises(ValueError, match="pass n="):
        read_predict_log(other)
    with pytest.raises(ValueError, match="at least one"):
        validate_predict(log, [])


def test_markdown_table_prints_each_row():
    v = validate_predict(_certify(), [PREDICT.format(n) for n in (100, 100_000)])
    lines = markdown_table(v).splitlines()
    assert len(lines) == 4 and lines[0].startswith("| N |")
    for line, k, m, inside in zip(lines[2:], v.abstained, v.inputs, v.inside, strict=True):
        assert f"| {k} / {m} |" in line
        assert line.endswith("| yes |" if inside else "| no |")
    assert f"{100 * v.rate[0]:.2f} ({100 * v.low[0]:.2f} .. {100 * v.high[0]:.2f})" in lines[2]
