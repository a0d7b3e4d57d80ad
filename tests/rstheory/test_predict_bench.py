"""bench/bench_predict_rates.py runs at tiny sizes, prints its ratio table and agrees with
the full trinomial sum (speed is not tested here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_predict_rates.py"


def test_bench_predict_rates_runs_and_agrees():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "20", "60", "--large", "2000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\s+(\d+)\s+\S+\s+\S+\s+(\S+)\s+(\S+)$", proc.stdout, re.M)
    assert [r[0] for r in rows] == ["20", "60"], proc.stdout
    for _, ratio, diff in rows:
        assert float(ratio) > 0 and float(diff) < 1e-12, proc.stdout
    assert "n = 2000" in proc.stdout and "abstain" in proc.stdout
