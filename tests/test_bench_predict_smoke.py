"""bench/bench_predict.py runs at a small size, prints both times, the same n and a ratio
(speed is not tested here)."""

from __future__ import annotations

import re

from tests._bench_smoke import run_bench


def test_bench_predict_runs_and_agrees():
    out = run_bench("bench_predict.py", "--p-a", "0.6", "--p-b", "0.3", timeout=300)
    ns = re.findall(r"^\s+(plain|screened) scan: n = (\d+), abstain (\S+), (\S+) s$", out, re.M)
    assert [name for name, *_ in ns] == ["plain", "screened"], out
    assert ns[0][1:3] == ns[1][1:3], out
    assert "identical n and abstain: True" in out
    ratio = re.search(r"^ratio plain / screened: (\d+(\.\d+)?)x \(best of 1\)$", out, re.M)
    assert ratio is not None and float(ratio.group(1)) > 0, out
