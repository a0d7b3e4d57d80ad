"""bench/bench_scaling.py runs at a tiny size, prints its ratio line and agrees with scipy
(speed is not tested here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_scaling.py"

# The two curves are sums of float64 terms of size <= sigma * 4; scipy's beta.ppf is accurate
# to ~1e-9 relative only at large n, and at n <= 300 agreement is observed at ~1e-16.
ATOL_SMOKE_AGREEMENT = 1e-9


def test_bench_scaling_runs_and_prints_ratio_and_agreement():
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--num-n",
            "4",
            "--n-max",
            "300",
            "--points",
            "5",
            "--seed",
            "1",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    head = "ratio rstheory.scaling.expected_radius vs scipy straightforward: "
    ratio = [line for line in out.splitlines() if line.startswith(head)]
    assert len(ratio) == 1, out
    assert re.search(r": \d+(\.\d+)?x ", ratio[0]), ratio[0]
    match = re.search(r"^agreement: max \|rstheory - scipy\| over the curve = (\S+)$", out, re.M)
    assert match is not None, out
    assert float(match.group(1)) < ATOL_SMOKE_AGREEMENT, out
    assert "first call (compiles)" in out and "warm (best of 1)" in out
    assert "backend" in out and "OMP_NUM_THREADS" in out
    assert "first and warm rstheory curves identical: True" in out
