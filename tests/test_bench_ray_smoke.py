"""bench/bench_ray.py --quick runs the local backend and the Ray backend with 1 and 2 workers,
prints its throughput table, ratios, identical rows and the planner's budget (speed is not
tested here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_ray.py"

pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")


def test_bench_ray_quick_prints_throughputs_ratios_and_budget():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for backend, workers in (("local", 1), ("ray", 1), ("ray", 2)):
        assert re.search(rf"^{backend}\s+{workers}\s+\d+\.\d\s+\d+\.\d$", out, re.MULTILINE), out
    assert re.search(r"^ratio ray 2 workers vs 1 worker: \d+\.\d\dx$", out, re.MULTILINE), out
    assert re.search(r"^ratio ray 1 worker vs local: \d+\.\d\dx$", out, re.MULTILINE), out
    assert re.search(r"^rows identical: True\b", out, re.MULTILINE), out
    assert re.search(r"samples_per_second=\d+\.\d, devices=D\)\)$", out, re.MULTILINE), out
    one = re.search(r"^  devices=1: batches (\d+), .* wall (\d+\.\d\d) h$", out, re.MULTILINE)
    two = re.search(r"^  devices=2: batches (\d+), .* wall (\d+\.\d\d) h$", out, re.MULTILINE)
    assert one and two and one.group(1) == two.group(1), out
    assert "torch.get_num_threads()=1" in out, out
