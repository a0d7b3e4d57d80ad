"""Tests of rows of the sequential rule in rstheory.rows and ``rstheory plan``: their schema
(errors naming the file, the line and the field), their refusal as fixed-n pilot counts
by default (k/n at a data-dependent stop is biased), and ``stopping="likelihood"``: the
maximum-likelihood fit of Pr(p_A) from simulated sequential stops recovers the Beta the
p_A were drawn from, within a stated Monte Carlo tolerance."""

import json
import re

import numpy as np
import pytest

from rstheory import distributions, planning
from rstheory._cli import main
from rstheory.rows import check_row, load_counts, read_counts
from rstheory.sequential import boundaries

RULE = dict(radius=0.25, sigma=0.25, alpha=0.001, batch_size=20, n_max=500)
BOUNDS = boundaries(**RULE)


def _stop_row(i, k, n, *, n0=10, config_hash="h"):
    """A row as ``python -m sampler collect --sequential`` writes it (the fields read)."""
    b = BOUNDS
    j = list(b.checkpoints).index(n)
    reason = "certified" if k >= b.k_certify[j] else "futility" if k <= b.k_futile[j] else "n_max"
    return {
        "id": str(i),
        "config_hash": config_hash,
        "status": "ok",
        "prompt": None,
        "error": None,
        "stop_reason": reason,
        "certified": reason == "certified",
        "k": int(k),
        "n": int(n),
        "n0": n0,
        "samples": n0 + int(n),
        "looks": j + 1,
        "p_lower": 0.5,
        "p_upper": 0.9,
        "radius": 0.0,
        "config": {"sigma": 0.25, "alpha": 0.001, "sequential": {"radius": 0.25, "n_max": 500}},
    }


def _simulate(rng, a, b, count):
    """Sequential stops ``(k, n)`` of ``count`` inputs whose p_A ~ Beta(a, b), under the rule
    of RULE (the boundaries of rstheory.sequential, votes drawn batch by batch)."""
    rule = BOUNDS
    p = rng.beta(a, b, size=count)
    k = np.zeros(count, dtype=np.int64)
    n = np.zeros(count, dtype=np.int64)
    active = np.ones(count, dtype=bool)
    previous = 0
    for j, n_j in enumerate(rule.checkpoints):
        k = np.where(active, k + rng.binomial(n_j - previous, p), k)
        n = np.where(active, n_j, n)
        active &= (k < rule.k_certify[j]) & (k > rule.k_futile[j])
        previous = n_j
    return k, n


def _rows(k, n):
    return [_stop_row(i, a, b) for i, (a, b) in enumerate(zip(k, n, strict=True))]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stop_reason": "stopped"}, "field 'stop_reason' must be one of"),
        ({"certified": 1}, "field 'certified' must be"),
        ({"samples": 11}, "field 'samples' must be n0 + n"),
        ({"n0": 0}, "field 'n0' must be a JSON integer >= 1"),
        ({"looks": 1.0}, "field 'looks' must be a JSON integer >= 1"),
        ({"p_upper": 0.4}, "field 'p_upper' must be >= p_lower"),
        ({"p_lower": "0.5"}, "field 'p_lower' must be a number in [0.0, 1.0]"),
        ({"radius": -1.0}, "field 'radius' must be a number in [0, inf)"),
    ],
)
def test_a_bad_sequential_row_names_its_field(change, message):
    row = _stop_row(0, 20, 20)
    check_row(row, where="rows.jsonl:1")
    with pytest.raises(ValueError, match=r"^rows\.jsonl:3: " + re.escape(message)):
        check_row({**row, **change}, where="rows.jsonl:3")
    # an error row holds no stop; a row of a sequential configuration must record one
    check_row({**row, "status": "error", "stop_reason": None, "k": None}, where="x:1")
    missing = {key: v for key, v in row.items() if key != "stop_reason"}
    with pytest.raises(ValueError, match="x:1: field 'stop_reason' is missing"):
        check_row(missing, where="x:1")


def test_sequential_rows_are_refused_as_pilot_counts_unless_asked(tmp_path):
    rng = np.random.default_rng(0)
    k, n = _simulate(rng, 8.0, 2.0, 20)
    f = _write(tmp_path / "rows.jsonl", _rows(k, n))
    for read in (load_counts, read_counts):
        with pytest.raises(ValueError, match=r"rows\.jsonl:1: a row of the sequential rule"):
            read(f)
        got = read(f, stopping="likelihood")
        assert got.k.tolist() == k.tolist() and got.n.tolist() == n.tolist()
        with pytest.raises(ValueError, match="stopping must be one of 'fixed', 'likelihood'"):
            read(f, stopping=True)
    # fixed-n rows read alike with either value
    fixed = _write(tmp_path / "fixed.jsonl", [{"id": "a", "config_hash": "h", "k": 9, "n": 10}])
    assert load_counts(fixed).k.tolist() == load_counts(fixed, stopping="likelihood").k.tolist()


# Monte Carlo tolerance of the fit: over 20 replicate simulations of COUNT inputs from
# Beta(8, 2) under RULE the maximum-likelihood a, b and mean a / (a + b) had standard
# deviations 0.17, 0.039 and 0.0023; the tolerances are 6 of them, so a false failure has
# probability about 2e-9 per parameter under the normal approximation of the estimate (and
# below 1e-5 even if those standard deviations were 30% too small).
COUNT = 2000
TOL_A, TOL_B, TOL_MEAN = 6 * 0.17, 6 * 0.039, 6 * 0.0023


def test_the_likelihood_fit_of_sequential_stops_recovers_the_beta():
    """The stops' likelihood in p is c(k, n) p^k (1 - p)^(n - k) with c free of p, so
    distributions.fit (the beta-binomial likelihood) is the maximum-likelihood fit of the
    stops (the likelihood principle): its estimates recover Beta(8, 2). The stops really
    are data-dependent: n varies, and k/n of the inputs that certified early is high."""
    k, n = _simulate(np.random.default_rng(1), 8.0, 2.0, COUNT)
    assert len(np.unique(n)) > 5 and n.min() < 100 and (n == 500).any()
    res = distributions.fit(k, n, model="beta")
    assert res.converged
    assert abs(res.a - 8.0) < TOL_A and abs(res.b - 2.0) < TOL_B, (res.a, res.b)
    assert abs(res.a / (res.a + res.b) - 0.8) < TOL_MEAN


def test_plan_refuses_sequential_rows_unless_stopping_likelihood(capsys, tmp_path):
    k, n = _simulate(np.random.default_rng(2), 8.0, 2.0, 200)
    f = _write(tmp_path / "rows.jsonl", _rows(k, n))
    common = ["plan", "--target-ratio", "0.8", "--reference-n", "1000", "--json"]
    with pytest.raises(SystemExit) as info:
        main([*common, "--dist", f"fit:{f}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "a row of the sequential rule" in err and "not an unbiased pilot of p_A" in err
    assert main([*common, "--dist", f"fit:{f}", "--stopping", "likelihood"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = planning.required_samples(
        distributions.fit(k, n).distribution,
        alpha=0.001,
        sigma=0.25,
        target_ratio=0.8,
        reference_n=1000,
    )
    assert got["n"] == want.n
    for argv, message in (
        (["--dist", f"empirical:{f}"], "a row of the sequential rule"),
        (["--dist", f"empirical:{f}", "--stopping", "likelihood"], "applies to --dist fit:FILE"),
        (["--dist", "beta:8,2", "--stopping", "likelihood"], "--stopping: applies to --dist fit"),
    ):
        with pytest.raises(SystemExit) as info:
            main([*common, *argv])
        assert info.value.code == 2
        assert message in capsys.readouterr().err
