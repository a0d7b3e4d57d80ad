"""bench/bench_sampler.py runs at a tiny size, prints its ratio lines and finds the batched
greedy texts identical to the one-at-a-time ones (speed is not tested here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_sampler.py"


def test_bench_sampler_runs_and_prints_ratios():
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--n",
            "8",
            "--batch-sizes",
            "1",
            "4",
            "--max-new-tokens",
            "2",
            "--repeat",
            "1",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for bs in (1, 4):
        for ref in ("one-at-a-time", "naive per-sample"):
            pattern = rf"^ratio batched\(bs={bs}\) vs {ref}: \d+\.\dx$"
            assert re.search(pattern, out, re.MULTILINE), out
    assert re.search(r"^texts identical: True\b", out, re.MULTILINE), out
    assert "torch.get_num_threads()=1" in out and "OMP_NUM_THREADS=1" in out, out
    assert "device cpu" in out and "parameters" in out, out
