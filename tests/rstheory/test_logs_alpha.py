"""The level of a log inferred from its printed radii; what an exact count means."""

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


def _radius(k, n, alpha, sigma):  # independent route: the beta quantile of scipy
    return sigma * scipy.special.ndtri(scipy.stats.beta.ppf(alpha, k, n - k + 1))


def _write_cohen(path, radii):
    lines = ["idx\tlabel\tpredict\tradius\tcorrect\ttime"]
    for i, r in enumerate(radii):
        pred = 1 if r > 0 else -1
        lines.append(f"{i}\t1\t{pred}\t{r:.3}\t{int(r > 0)}\t1.0")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.01, 0.001])
def test_infers_the_level_of_a_synthetic_log(tmp_path, alpha):
    # radii printed as Cohen et al.'s code does ("{:.3}"), from counts near the top: the
    # cap sigma Phi^-1(alpha^(1/n)) separates the levels
    n, sigma = 10_000, 0.5
    rng = np.random.default_rng(7)
    k = np.concatenate([[n, n, n - 1], rng.integers(int(0.9 * n), n, size=60)])
    f = tmp_path / "sigma_0.50"
    _write_cohen(f, _radius(k, n, alpha, sigma))
    log = analyze.read_log(f, n=n, alpha="infer")
    assert log.alpha == alpha
    fit = log.alpha_fit
    assert fit.inconsistent[fit.candidates.index(alpha)] == 0
    assert fit.certified == k.size
    assert log.consistent.all()


def test_cohen_imagenet_logs_fit_0_01():
    # independent witness: the largest printed radius exceeds the cap of alpha = 0.001
    # (k = n) but not that of 0.01
    for f in sorted((COHEN / "imagenet").glob("*/*/test/sigma_*")):
        log = analyze.read_log(f, n=100_000, alpha="infer")
        assert log.alpha == 0.01, f
        assert log.alpha_fit.stated == 0.001
        top = log.radius.max()
        assert top > _radius(100_000, 100_000, 0.001, log.sigma) * (1 + 5e-3), f
        assert top < _radius(100_000, 100_000, 0.01, log.sigma) * (1 + 5e-3), f


def test_p2_csv_levels():
    # the full-precision pA of the 2024 paper's own runs is reproduced only at 0.001
    log = analyze.read_log(P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100.csv", alpha="infer")
    assert log.alpha == 0.001 and log.alpha_fit.tied == (0.001,)
    # Cohen et al.'s n = 100,000 output under the same name fits 0.01
    big = P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv"
    log = analyze.read_log(big, alpha="infer")
    assert log.alpha == 0.01 and log.consistent.all()


def test_exact_counts_reproduce_the_printed_radius_and_are_unique():
    big = P2 / "imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv"
    stated = analyze.read_log(big)
    # a count no value reproduces is not exact, whatever the width of its interval
    assert not (stated.exact_counts() & ~stated.consistent).any()
    log = analyze.read_log(big, alpha="infer")
    ex = log.exact_counts()
    assert 100 < ex.sum() < (~log.abstain).sum()
    k = log.k[ex]
    printed = [f"{v:.3}" for v in log.radius[ex]]
    assert [f"{v:.3}" for v in _radius(k, 100_000, 0.01, 0.5)] == printed
    # the neighbours round to other digits; not so for the others (several counts fit)
    for d in (-1, 1):
        kd = np.clip(k + d, 1, 100_000)
        same = np.array([f"{v:.3}" for v in _radius(kd, 100_000, 0.01, 0.5)]) == printed
        assert not same[kd != k].any()
    wide = ~ex & ~log.abstain
    kw = log.k[wide]
    shifted = np.where(log.k_low[wide] < kw, kw - 1, kw + 1)
    assert [f"{v:.3}" for v in _radius(shifted, 100_000, 0.01, 0.5)] == [
        f"{v:.3}" for v in log.radius[wide]
    ]


def test_infer_errors(tmp_path):
    f = COHEN / "imagenet/resnet50/noise_0.50/test/sigma_0.50"
    with pytest.raises(ValueError, match=r"alpha='infer' needs printed radii and n"):
        analyze.read_log(f, alpha="infer")
    with pytest.raises(ValueError, match="alpha"):
        analyze.read_log(f, n=100, alpha="guess")


def test_cli_alpha_infer(capsys):
    from rstheory._cli import main

    f = str(COHEN / "imagenet/resnet50/noise_0.50/test/sigma_0.50")
    assert main(["analyze", f, "--n", "100000", "--alpha", "infer", "--json"]) in (0, None)
    r = json.loads(capsys.readouterr().out)["logs"][0]
    assert r["alpha"] == 0.01 and r["alpha_fit"]["stated"] == 0.001
    assert r["alpha_fit"]["inconsistent"]["0.01"] == 0
    assert r["counts"]["inconsistent"] == 0
    main(["analyze", f, "--n", "100000", "--alpha", "infer"])
    out = capsys.readouterr().out
    assert "alpha inferred: 0.01" in out and "exact: a single count reproduces" in out
