"""The shared part of the benchmark smoke tests: run one ``bench/`` script in a fresh
interpreter, one thread and offline, and return its standard output once it exited 0
(``run_bench("bench_cp.py", "--size", "2000")``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"
ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_bench(script: str, *args: str, timeout: float = 600, env: dict | None = None) -> str:
    """Run ``bench/<script> *args`` (``sys.executable``, :data:`ENV` over ``os.environ``,
    then ``env``); its stdout. An exit status other than 0 fails the calling test with the
    last 3,000 characters of stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **ENV, **(env or {})},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout
