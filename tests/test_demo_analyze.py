"""The demo's analysis of Cohen et al.'s ImageNet logs: the figure is written and the table of
"what n would have sufficed" is the exact expectation, recomputed here with scipy sums."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import scipy.special
import scipy.stats

from rsvlm._demo import DemoConfig
from rsvlm._demo_analyze import RADII, RUN_N, RUN_N0, SIZES, add_section, step_analyze

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOGS = ROOT / "data/cohen2019/certify/imagenet/resnet50"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    if not LOGS.is_dir():
        pytest.skip(f"Cohen et al.'s logs absent under {LOGS}")
    out = tmp_path_factory.mktemp("analyze")
    return out, step_analyze(DemoConfig(out_dir=str(out)))


def _expected(p, n, *, alpha, sigma, n0, radii):
    """Independent route: sums over K ~ Bin(n, p_i) of the radius of scipy's beta quantile,
    times the two-stage selection probability Pr[Bin(n0, p_i) > n0 / 2] for the low end."""
    k = np.arange(n + 1)
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
    rad = np.where(lower > 0.5, sigma * scipy.special.ndtri(np.maximum(lower, 0.5)), 0.0)
    pmf = scipy.stats.binom.pmf(k[None, :], n, p[:, None])  # (m, n + 1)
    sel = scipy.stats.binom.sf(n0 // 2, n0, p)
    acr = pmf @ rad
    acc = np.stack([pmf @ (rad >= max(r, 1e-300)) for r in radii], axis=1)  # r = 0: R > 0
    return acr.mean(), (sel * acr).mean(), acc.mean(0), (sel[:, None] * acc).mean(0)


def test_every_log_read_at_the_inferred_level_two_stage(result):
    _, a = result
    assert a["skipped"] is None
    files = sorted(LOGS.glob("noise_*/test/sigma_*"))
    assert [g["path"] for g in a["logs"]] == [f.relative_to(LOGS).as_posix() for f in files]
    for g in a["logs"]:
        assert g["alpha"] == 0.01 and g["alpha_stated"] == 0.001
        assert g["stages"] == f"two-stage (n0 = {RUN_N0})" and g["run_n"] == RUN_N
        assert [p["n"] for p in g["predictions"]] == [*SIZES, RUN_N]
        # the model at the logged n lands near the measured ACR (same inputs, same protocol)
        assert abs(g["run_expected"] - g["run_acr"]) < 0.01 * g["run_acr"] + 1e-3


@pytest.mark.parametrize("which", ["noise_0.50/test/sigma_0.50", "noise_1.00/test/sigma_1.00"])
def test_table_is_the_exact_expectation(result, which):
    from rstheory import analyze

    _, a = result
    (g,) = [g for g in a["logs"] if g["path"] == which]
    log = analyze.read_log(LOGS / which, n=RUN_N, n0=RUN_N0, alpha=0.01)
    # each recovered count reproduces the printed radius at alpha = 0.01 (scipy's quantile)
    cert = ~log.abstain
    k = log.k[cert]
    printed = [f"{v:.3}" for v in log.radius[cert]]
    again = g["sigma"] * scipy.special.ndtri(scipy.stats.beta.ppf(0.01, k, RUN_N - k + 1))
    assert [f"{v:.3}" for v in again] == printed
    p = np.where(log.correct, log.k / RUN_N, 0.0)
    for row in g["predictions"][:2]:  # n = 100 and 1000
        acr, acr_low, acc, acc_low = _expected(
            p, row["n"], alpha=0.01, sigma=g["sigma"], n0=RUN_N0, radii=RADII
        )
        assert row["acr"] == pytest.approx(acr, rel=1e-9)
        assert row["acr_low"] == pytest.approx(acr_low, rel=1e-9)
        np.testing.assert_allclose(row["accuracy"], acc, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(row["accuracy_low"], acc_low, rtol=1e-9, atol=1e-12)
        assert row["acr_low"] <= row["acr"]
    acrs = [row["acr"] for row in g["predictions"]]
    assert acrs == sorted(acrs)  # more samples, larger expected ACR


def test_figure_and_report_section(result):
    out, a = result
    fig = out / a["figure"]
    assert fig.is_file() and fig.read_bytes()[:8] == PNG_SIGNATURE
    report = out / "report.md"
    report.write_text("# Demo report\n")
    res = {"analyze": a}
    add_section(res, report)
    md = report.read_text()
    assert f"]({a['figure']})" in md and res["figures"] == {"analyze_imagenet": a["figure"]}
    g = a["logs"][2]
    row = g["predictions"][0]
    line = next(
        ln for ln in md.splitlines() if f"trained {g['trained']:.2f})" in ln and "| 100 |" in ln
    )
    assert f"| {row['acr']:.4f} |" in line or re.search(
        rf"{row['acr_low']:.4f} to {row['acr']:.4f}", line
    )
    assert "two-stage (n0 = 100)" in line and "| 0.010 |" in line
    assert '"analyze_imagenet"' in (out / "report.json").read_text()


def test_skipped_without_logs(tmp_path):
    a = step_analyze(DemoConfig(out_dir=str(tmp_path), data_dir=str(tmp_path)))
    assert a["skipped"].startswith("no CERTIFY logs under") and a["logs"] == []
    a = step_analyze(DemoConfig(out_dir=str(tmp_path), skip_published=True))
    assert a["skipped"] == "--skip-published was given"
