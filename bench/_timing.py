"""Wall time of a command in a fresh process, shared by the command-line benchmarks
(``bench_cli.py``, ``bench_plan.py``).

Example:
  >>> import sys
  >>> best_of([sys.executable, "-c", "pass"], {}, 2) > 0
  True
"""

from __future__ import annotations

import subprocess
import sys
import time

__all__ = ["best_of", "run_timed"]


def run_timed(cmd: list[str], env: dict) -> float:
    """Seconds ``cmd`` took from start to exit; exits the benchmark when the command fails."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def best_of(cmd: list[str], env: dict, repeat: int) -> float:
    """The least of ``repeat`` timings of :func:`run_timed` (the one least disturbed)."""
    return min(run_timed(cmd, env) for _ in range(repeat))
