"""Readers of certification logs: formats, settings, errors and the recovery of counts."""

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats

from rstheory import analyze

DATA = Path(__file__).resolve().parents[2] / "data"
COHEN = DATA / "cohen2019" / "certify"
P2 = DATA / "p2-certifications"


def _cp_lower(k, n, alpha):  # independent route: the beta quantile of scipy
    k = np.asarray(k, dtype=float)
    return np.where(k > 0, scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)


def test_detects_the_three_formats(tmp_path):
    assert analyze.detect_format(COHEN / "cifar10/resnet110/noise_0.25/test/sigma_0.25") == "cohen"
    assert analyze.detect_format(P2 / "cifar10_resnet110_sigma0.5_alpha0.001_n100.csv") == "p2"
    rows = tmp_path / "r.jsonl"
    rows.write_text(json.dumps({"id": "a", "config_hash": "h", "k": 1, "n": 2}) + "\n")
    assert analyze.detect_format(rows) == "rows"
    bad = tmp_path / "bad.txt"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 1: not a certification log"):
        analyze.detect_format(bad)
    predict = DATA / "cohen2019/predict/imagenet/resnet50/noise_0.25/test/N_100"
    with pytest.raises(ValueError, match="PREDICT log"):
        analyze.read_log(predict)


def test_time_in_seconds_and_hms():
    assert analyze.parse_seconds("15.4") == 15.4
    assert analyze.parse_seconds("0:02:31.238689") == pytest.approx(151.238689)
    with pytest.raises(ValueError, match="field 'time'"):
        analyze.parse_seconds("soon", where="f:3")
    sec = analyze.read_log(COHEN / "cifar10/resnet110/noise_0.25/test/sigma_0.25")
    hms = analyze.read_log(COHEN / "cifar10/resnet110/noise_0.25/test/sigma_0.50")
    assert sec.time[0] == 15.4 and hms.time[0] == pytest.approx(14.206886)


def test_cohen_settings_from_path_and_options(tmp_path):
    log = analyze.read_log(COHEN / "imagenet/resnet50/noise_1.00/test/sigma_0.50")
    assert (log.sigma, log.alpha, log.n, log.n0, log.k) == (0.5, 0.001, None, None, None)
    assert log.abstain.sum() == (log.predict == -1).sum() and not (log.correct & log.abstain).any()
    with pytest.raises(ValueError, match=r"sigma=0.25 conflicts with sigma = 0.5"):
        analyze.read_log(COHEN / "imagenet/resnet50/noise_1.00/test/sigma_0.50", sigma=0.25)
    f = tmp_path / "run.tsv"
    f.write_text("idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t2.0\n")
    with pytest.raises(
        ValueError, match=r"run.tsv: the file does not hold the noise level: pass sigma="
    ):
        analyze.read_log(f)
    assert analyze.read_log(f, sigma=0.25).radius.tolist() == [0.5]
    f.write_text(
        "idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t2.0\n1\t1\t1\tx\t1\t2\n"
    )
    with pytest.raises(ValueError, match=r"run.tsv:3: field 'radius': expected a number, got 'x'"):
        analyze.read_log(f, sigma=0.25)
    with pytest.raises(ValueError, match="format must be one of"):
        analyze.read_log(f, format="csv", sigma=0.25)


def test_p2_counts_are_exact_integers():
    log = analyze.read_log(P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100.csv")
    assert (log.sigma, log.alpha, log.n, log.n0) == (0.5, 0.001, 100, 0)
    assert log.exact_counts().all()
    np.testing.assert_allclose(_cp_lower(log.k, 100, 0.001), log.p_lower, atol=1e-9)


def test_p2_selection_samples_follow_the_file_provenance(tmp_path):
    import csv

    big = P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv"
    # the provenance: the file is, row for row, Cohen et al.'s two-stage CERTIFY output
    with open(big) as fh:
        ours = [(r["index"], r["y_pred"], r["radius"]) for r in csv.DictReader(fh)]
    with open(COHEN / "imagenet/resnet50/noise_0.50/test/sigma_0.50") as fh:
        theirs = [(r["idx"], r["predict"], r["radius"]) for r in csv.DictReader(fh, delimiter="\t")]
    assert ours == theirs
    log = analyze.read_log(big)
    assert (log.n, log.n0) == (100_000, 100)
    assert analyze.predict(log, [100]).stages == "two-stage (n0 = 100)"
    assert analyze.read_log(big, n0=0).n0 == 0  # a keyword overrides the default
    # the 2024 paper's own runs are single-stage; a copy under another name is not the known file
    for n in (25, 100, 500):
        assert analyze.read_log(P2 / f"imagenet_resnet50_sigma0.5_alpha0.001_n{n}.csv").n0 == 0
    copy = tmp_path / "imagenet_resnet50_sigma0.5_alpha0.001_n99999.csv"
    copy.write_text(big.read_text())
    assert analyze.read_log(copy).n0 == 0
    with pytest.raises(ValueError, match="n0 must"):
        analyze.read_log(big, n0=-1)


def test_table_search_and_bisection_give_the_same_counts(monkeypatch):
    from rstheory import _logs_counts

    rng = np.random.default_rng(3)
    n, sigma, alpha = 5000, 0.5, 0.01
    k = rng.integers(2400, n + 1, size=200)
    with np.errstate(divide="ignore"):
        r = np.maximum(sigma * scipy.special.ndtri(_cp_lower(k, n, alpha)), 0.0)
    printed = [f"{v:.3}" for v in r]
    radius = np.array([float(t) for t in printed])
    h = _logs_counts.half_width(printed)
    table = analyze.count_interval(radius, n=n, alpha=alpha, sigma=sigma, half_width=h)
    monkeypatch.setattr(_logs_counts, "_TABLE_MAX_N", 0)
    bisect = analyze.count_interval(radius, n=n, alpha=alpha, sigma=sigma, half_width=h)
    for a, b in zip(table, bisect, strict=True):
        np.testing.assert_array_equal(a, b)
    cert = radius > 0
    assert ((table.low[cert] <= k[cert]) & (k[cert] <= table.high[cert])).all()


@pytest.mark.parametrize("n", [100, 100_000])
def test_rounded_radius_gives_an_interval_that_holds_the_true_count(n):
    rng = np.random.default_rng(n)
    sigma, alpha = 0.5, 0.001
    k_true = rng.integers(int(0.75 * n), n + 1, size=200)
    radius = sigma * scipy.special.ndtri(_cp_lower(k_true, n, alpha))
    text = [f"{r:.3}" for r in radius]  # as Cohen et al.'s code prints it
    k, low, high, consistent = analyze.count_interval(
        [float(t) for t in text], n=n, alpha=alpha, sigma=sigma, half_width=_halves(text)
    )
    assert consistent.all()
    assert ((low <= k_true) & (k_true <= high)).all() and ((low <= k) & (k <= high)).all()
    # every count of the interval prints as the same radius, the neighbours outside do not
    for lo_, hi_, t in zip(low[:20], high[:20], text[:20], strict=True):
        inside = sigma * scipy.special.ndtri(_cp_lower([lo_, hi_], n, alpha))
        assert [f"{r:.3}" for r in inside] == [t, t]
    if n == 100:
        assert (low == high).mean() > 0.9  # at n = 100 three digits nearly fix the count


def _halves(text):
    out = []
    for t in text:
        v = float(t)
        out.append(0.5 * 10.0 ** (np.floor(np.log10(v)) - 2))
    return np.array(out)


def test_cohen_log_counts_recovered_with_widths():
    f = COHEN / "imagenet/resnet50/noise_0.50/test/sigma_0.50"
    # the printed radii are reproduced at n = 100,000 only with alpha = 0.01 (its largest
    # radius 1.96 exceeds the cap 0.5 Phi^-1(0.001^(1/n)) = 1.906 of alpha = 0.001)
    assert (~analyze.read_log(f, n=100_000, alpha=0.001).consistent).sum() > 50
    log = analyze.read_log(f, n=100_000, n0=100, alpha=0.01)
    cert = ~log.abstain
    assert log.consistent.all()
    assert ((log.k_low <= log.k) & (log.k <= log.k_high))[cert].all()
    assert (log.k[log.abstain] == -1).all()
    # the radius recomputed from the recovered count rounds back to the printed value
    r = 0.5 * scipy.special.ndtri(_cp_lower(log.k[cert], 100_000, 0.01))
    assert [f"{v:.3}" for v in r] == [f"{v:.3}" for v in log.radius[cert]]


def _row(i, k, *, n=100, cfg=None, status="ok", **extra):
    cfg = cfg or {"sigma": 0.25, "alpha": 0.001, "n": n, "n0": 10}
    p = float(_cp_lower(k, n, 0.001))
    radius = 0.25 * float(scipy.special.ndtri(p)) if p > 0.5 else 0.0
    return {
        "id": str(i),
        "config_hash": "h",
        "status": status,
        "error": None,
        "prompt": None,
        "k": k,
        "n": n,
        "n0": 10,
        "top_class": 3,
        "radius": radius,
        "p_lower": p,
        "abstained": p <= 0.5,
        "config": cfg,
        "timings": {"total": 0.5},
        **extra,
    }


def test_sampler_rows_jsonl_and_parquet(tmp_path):
    rows = [_row(i, k) for i, k in enumerate([100, 95, 40, 80])]
    rows.append({**_row(9, 0), "status": "error", "k": None})
    f = tmp_path / "rows.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = analyze.read_log(f)
    assert (log.format, log.sigma, log.alpha, log.n, log.n0) == ("rows", 0.25, 0.001, 100, 10)
    assert log.k.tolist() == [100, 95, 40, 80] and log.abstain.tolist() == [
        False,
        False,
        True,
        False,
    ]
    assert log.correct.tolist() == [True, True, False, True]  # no labels: certified
    assert log.time.tolist() == [0.5] * 4
    with pytest.raises(ValueError, match=r"sigma=0\.5 conflicts"):
        analyze.read_log(f, sigma=0.5)
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        "".join(json.dumps({**r, "label": 2 if r["id"] == "1" else 3}) + "\n" for r in rows)
    )
    assert analyze.read_log(labelled).correct.tolist() == [True, False, False, True]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    flat = [
        {**r, "config": json.dumps(r["config"]), "timings": json.dumps(r["timings"])} for r in rows
    ]
    pq.write_table(pa.Table.from_pylist(flat), tmp_path / "rows.parquet")
    plog = analyze.read_log(tmp_path / "rows.parquet")
    assert plog.k.tolist() == log.k.tolist() and plog.sigma == 0.25


def test_rows_field_errors_name_the_line(tmp_path):
    f = tmp_path / "rows.jsonl"
    rows = [_row(0, 90), {**_row(1, 90), "radius": "wide"}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"rows.jsonl:2: field 'radius'"):
        analyze.read_log(f)
