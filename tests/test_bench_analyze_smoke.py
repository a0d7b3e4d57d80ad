"""bench/bench_analyze.py runs and prints its ratio line (speed is not tested here)."""

from __future__ import annotations

import pytest

from tests._bench_smoke import run_bench


@pytest.mark.slow  # reads five logs four times, half of them by bisection (about 10 s)
def test_bench_analyze_runs_and_prints_the_ratio():
    out = run_bench("bench_analyze.py", "--repeats", "1", timeout=600)
    assert "ratio bisection / table search:" in out and "(same counts)" in out, out
