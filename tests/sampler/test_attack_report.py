"""Tests of :mod:`sampler._attack_report` on synthetic attack rows: the per-input check
against exact counts and scipy's Clopper-Pearson interval, its level and its power by
Monte Carlo against the exact probability of an inconsistent verdict (a Poisson-binomial
sum, computed here by convolution), and the exact certified curve against a brute-force
evaluation on a dense grid.

False-failure budget: each Monte Carlo count is compared with the two-sided binomial tails
of its exact probability at level ``1e-6`` each; each such test fails a correct
implementation with probability below ``2e-6``.
"""

import numpy as np
import pytest
import scipy.stats

from sampler.attack import certified_curve, format_table, plot_curve, robust_curve, summarize

BUDGET = 1e-6
CI_ALPHA = 0.05


def _row(rid, *, success, against="smoothed", below=True, a_cert=0.01, a_judge=0.01):
    return {
        "id": str(rid), "certify_hash": "c", "status": "ok", "against": against,
        "below_radius": below, "success": bool(success), "certify_alpha": a_cert,
        "judge_alpha": a_judge,
    }  # fmt: skip


def _ok(rows, against):
    return [r for r in rows if r["status"] == "ok" and r["against"] == against]


def _cp(k, n):
    """Two-sided Clopper-Pearson interval by the beta quantiles."""
    low = 0.0 if k == 0 else scipy.stats.beta.ppf(CI_ALPHA / 2, k, n - k + 1)
    high = 1.0 if k == n else scipy.stats.beta.ppf(1 - CI_ALPHA / 2, k + 1, n - k)
    return low, high


def test_per_input_counts_intervals_and_bound():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        m = 1 + i % 3  # budgets below R of input i
        rows += [_row(i, success=rng.random() < 0.2, a_judge=0.002 * (1 + i % 2)) for _ in range(m)]
        rows += [_row(i, success=rng.random() < 0.5, below=False)]
        rows += [_row(i, success=rng.random() < 0.5, against="base") for _ in range(2)]
    rows.append({**_row(99, success=True), "status": "error"})  # judged nothing
    rows.append(_row(7, success=True) | {"certify_hash": "other"})  # another input
    by_input = {(r.get("certify_hash"), r["id"]) for r in rows if r["status"] == "ok"}
    assert len(by_input) == 41
    got = {(x.against, x.side): x for x in summarize(rows, per="input", ci_alpha=CI_ALPHA)}
    assert set(got) == {("base", "below"), ("smoothed", "below"), ("smoothed", "above")}
    for (against, side), x in got.items():
        sel = [r for r in _ok(rows, against) if r["below_radius"] == (side == "below")]
        inputs = {}
        for r in sel:
            inputs.setdefault((r["certify_hash"], r["id"]), []).append(r)
        broken = sum(any(r["success"] for r in g) for g in inputs.values())
        assert (x.per, x.trials, x.successes) == ("input", len(inputs), broken)
        assert (x.low, x.high) == pytest.approx(_cp(broken, len(inputs)), abs=1e-9)
        ci = scipy.stats.binomtest(broken, len(inputs)).proportion_ci(0.95, method="exact")
        assert (x.low, x.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        if (against, side) == ("smoothed", "below"):
            want = max(0.01 + sum(r["judge_alpha"] for r in g) for g in inputs.values())
            assert x.bound == pytest.approx(want) == pytest.approx(0.01 + 3 * 0.004)
            assert x.consistent == (x.low <= x.bound)
        else:
            assert x.bound is None and x.consistent is None
    # per row: every row a trial
    rows_level = {(x.against, x.side): x for x in summarize(rows)}
    below = [r for r in _ok(rows, "smoothed") if r["below_radius"]]
    assert rows_level["smoothed", "below"].trials == len(below) > got["smoothed", "below"].trials
    assert rows_level["smoothed", "below"].per == "row"
    # the bound is capped at 1
    many = [_row(0, success=True, a_judge=0.4) for _ in range(3)]
    assert summarize(many, per="input")[0].bound == 1.0
    with pytest.raises(ValueError, match="per must be one of"):
        summarize(rows, per="budget")
    table = format_table(summarize(rows) + summarize(rows, per="input"))
    assert "| trials | successes |" in table and "| inputs | broken |" in table
    assert table.count("| smoothed | eps < R |") == 2


def _poisson_binomial(p):
    pmf = np.array([1.0])
    for q in p:
        pmf = np.convolve(pmf, [1 - q, q])
    return pmf


def _campaigns(rng, m, *, wrong, a_cert, a_judge, count):
    """``count`` campaigns over inputs with ``m[i]`` budgets below R, rows stating the
    levels ``a_cert`` and ``a_judge``: a wrong certificate (probability ``wrong``) makes
    every budget of its input a success, else each budget is a false alarm of PREDICT with
    probability ``a_judge``, independently."""
    verdicts = []
    for _ in range(count):
        rows = []
        for i, mi in enumerate(m):
            hits = (rng.random() < wrong) | (rng.random(mi) < a_judge)
            rows += [_row(i, success=h, a_cert=a_cert, a_judge=a_judge) for h in hits]
        verdicts.append(summarize(rows, per="input", ci_alpha=CI_ALPHA)[0].consistent)
    return np.array(verdicts)


def _p_inconsistent(m, *, wrong, a_cert, a_judge):
    """Exact probability that the check says NO: the broken count is Poisson-binomial,
    and NO means its Clopper-Pearson lower end exceeds the largest per-input bound."""
    m = np.asarray(m)
    p_broken = wrong + (1 - wrong) * (1 - (1 - a_judge) ** m)
    bound = min(1.0, a_cert + m.max() * a_judge)
    pmf = _poisson_binomial(p_broken)
    n = len(m)
    return sum(pmf[k] for k in range(n + 1) if _cp(k, n)[0] > bound)


@pytest.mark.parametrize(
    ("wrong", "p_range"),
    [(0.02, (0, CI_ALPHA / 2)), (0.15, (0.3, 0.6)), (0.4, (0.99, 1))],
    ids=["certificates-hold", "some-broken", "many-broken"],
)
def test_per_input_check_level_and_power_by_monte_carlo(wrong, p_range):
    m = [1 + i % 3 for i in range(60)]
    levels = {"a_cert": 0.02, "a_judge": 0.03}
    p = _p_inconsistent(m, wrong=wrong, **levels)
    # certificates that hold: at most ci_alpha / 2 (the union bound's promise); 15% or 40%
    # of them wrong: the check says NO often, almost always
    assert p_range[0] <= p <= p_range[1]
    count = 400
    rng = np.random.default_rng(1)
    verdicts = _campaigns(rng, m, wrong=wrong, count=count, **levels)
    no = int((~verdicts).sum())
    assert scipy.stats.binom.ppf(BUDGET, count, p) <= no <= scipy.stats.binom.isf(BUDGET, count, p)


def _certify_rows(rng, count):
    radii = np.round(rng.exponential(0.3, size=count), 2)  # ties at two decimals
    rows = [
        {"status": "ok", "radius": float(r), "abstained": bool(r == 0 or rng.random() < 0.15)}
        for r in radii
    ]
    rows += [{"status": "error", "radius": 5.0, "abstained": False}]  # not in the population
    return rows


def _brute(rows, grid):
    radii = [0.0 if r["abstained"] else r["radius"] for r in rows if r["status"] == "ok"]
    return np.array([np.mean([r > g for r in radii]) for g in grid])


def test_certified_curve_against_a_dense_grid():
    rows = _certify_rows(np.random.default_rng(2), 60)
    curve = certified_curve(rows)
    eps, acc = np.array(curve.eps), np.array(curve.accuracy)
    assert curve.inputs == 60 and eps[0] == 0.0 and np.all(np.diff(eps) > 0)
    top = max(r["radius"] for r in rows if r["status"] == "ok" and not r["abstained"])
    assert eps[-1] == top and acc[-1] == 0.0
    grid = np.linspace(0.0, 1.2 * top, 20_001)
    brute = _brute(rows, grid)
    # on the grid, the value is that of the last breakpoint at or before the point
    last = np.array([np.nonzero(eps <= g)[0].max() for g in grid])
    np.testing.assert_array_equal(acc[last], brute)
    # each breakpoint is a jump (a fall from just before it) and every jump is a breakpoint
    assert np.all(_brute(rows, eps[1:] - 1e-9) > _brute(rows, eps[1:]))
    for j in np.nonzero(np.diff(brute))[0]:
        assert np.any((eps > grid[j]) & (eps <= grid[j + 1]))
    np.testing.assert_array_equal(curve.at(grid), brute)
    with pytest.raises(ValueError, match="eps must be finite and >= 0"):
        curve.at(-0.1)
    with pytest.raises(ValueError, match="certify_rows: no ok rows"):
        certified_curve([{"status": "error"}])


def test_plot_draws_the_exact_curve_beyond_the_budgets(tmp_path):
    from sampler._attack_report import _steps

    rows = _certify_rows(np.random.default_rng(3), 20)
    curve = certified_curve(rows)
    attack_rows = [
        {"status": "ok", "budget": "absolute", "eps": e, "against": a, "abstain": False,
         "predicted": 0, "certified_class": 0}
        for e in (0.1, 2.0) for a in ("base", "smoothed")
    ]  # fmt: skip
    points = robust_curve(attack_rows, rows)
    assert [p.certified for p in points] == pytest.approx(_brute(rows, [0.1, 2.0]).tolist())
    xs, ys = _steps(curve, [p.eps for p in points])
    assert xs[-1] == pytest.approx(1.1 * max(2.0, curve.eps[-1]))
    assert len(xs) == len(curve.eps) + 1 and ys[-1] == ys[-2] == curve.accuracy[-1]
    path = plot_curve(points, tmp_path / "c.png", title="t", certified=curve)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("ci_alpha", [0.05, 0.1, 0.01])
def test_table_states_the_level_of_its_intervals(ci_alpha):
    rows = [_row(i, success=i % 4 == 0) for i in range(20)]
    rates = summarize(rows, ci_alpha=ci_alpha) + summarize(rows, per="input", ci_alpha=ci_alpha)
    level = f"{round(100 * (1 - ci_alpha))}% CI"
    table = format_table(rates)
    assert table.count(f"| rate | {level} |") == 2
    assert "CI" not in table.replace(level, "")
    ci = scipy.stats.binomtest(5, 20).proportion_ci(1 - ci_alpha, method="exact")
    assert f"[{ci.low:.3f}, {ci.high:.3f}]" in table
    assert {r.ci_alpha for r in rates} == {ci_alpha}
