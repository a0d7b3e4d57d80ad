"""bench/bench_cp.py runs at a tiny size and prints its ratio lines (speed is not tested here)."""

from __future__ import annotations

from tests._bench_smoke import run_bench


def test_bench_cp_runs_and_prints_ratios():
    out = run_bench("bench_cp.py", "--size", "2000", "--mp-sample", "5", "--seed", "1", timeout=300)
    ratio_lines = [
        line for line in out.splitlines() if line.startswith("ratio rstheory.cp_lower vs ")
    ]
    # three references in each of the two tables
    assert len(ratio_lines) == 6, out
    for name in (
        "scipy.stats.beta.ppf",
        "scipy.special.betaincinv",
        "statsmodels proportion_confint",
    ):
        assert sum(name in line for line in ratio_lines) == 2, out
    assert "max rel err vs mpmath" in out and "backend" in out
