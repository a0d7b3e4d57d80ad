"""bench/bench_cp.py runs at a tiny size and prints its ratio lines (speed is not tested here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_cp.py"


def test_bench_cp_runs_and_prints_ratios():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--size", "2000", "--mp-sample", "5", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
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
