"""bench/bench_predict.py runs at a small size, prints both times, the same n and a ratio
(speed is not tested here)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests._bench_smoke import BENCH_DIR, run_bench


def test_bench_predict_runs_and_agrees():
    out = run_bench("bench_predict.py", "--p-a", "0.6", "--p-b", "0.3", timeout=300)
    ns = re.findall(r"^\s+(plain|screened) scan: n = (\d+), abstain (\S+), (\S+) s$", out, re.M)
    assert [name for name, *_ in ns] == ["plain", "screened"], out
    assert ns[0][1:3] == ns[1][1:3], out
    assert "identical n and abstain: True" in out
    ratio = re.search(r"^ratio plain / screened: (\d+(\.\d+)?)x \(best of 1\)$", out, re.M)
    assert ratio is not None and float(ratio.group(1)) > 0, out


def test_bench_predict_refuses_a_repeat_below_one():
    script = str(BENCH_DIR / "bench_predict.py")
    proc = subprocess.run([sys.executable, script, "--repeat", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--repeat must be an integer >= 1, got 0" in proc.stderr
