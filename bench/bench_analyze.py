"""Count recovery of ``rstheory analyze``: the search of the tabulated bounds against bisection.

    python bench/bench_analyze.py              # Cohen et al.'s five ImageNet logs, n = 100,000
    python bench/bench_analyze.py --repeats 1  # a quick check that it runs

Reads Cohen, Rosenfeld & Kolter's (2019) ImageNet CERTIFY logs with ``alpha="infer"`` (four
levels tried per log, :func:`rstheory._logs_alpha.fit_alpha`), once with the default route of
:mod:`rstheory._logs_counts` (every bound ``cp_lower(k, n, alpha)``, ``k = 0..n``, tabulated
once per ``(n, alpha)`` and searched) and once with the bisection it replaces below
``n = 2**20`` (60 evaluations per input and level). Each route is timed as the best of
``--repeats`` runs after a warm-up run that compiles; the table is rebuilt in every timed run
(its cache is cleared). Both routes must give the same counts. The ratio is bisection time
over table time, from the same run.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import jax
import numpy as np

from rstheory import _logs_counts, analyze

LOGS = Path(__file__).resolve().parents[1] / "data/cohen2019/certify/imagenet/resnet50"


def read_all(files):
    _logs_counts._table.cache_clear()
    return [analyze.read_log(f, n=100_000, n0=100, alpha="infer") for f in files]


def timed(files, repeats: int):
    read_all(files)  # warm-up: compiles
    best, logs = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        logs = read_all(files)
        best = min(best, time.perf_counter() - t0)
    return best, logs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    files = sorted(LOGS.glob("noise_*/test/sigma_*"))
    print(f"backend {jax.default_backend()}, {platform.processor() or platform.machine()}")
    print(f"{len(files)} logs, {sum(1 for f in files for _ in open(f)) - len(files)} inputs")
    t_table, by_table = timed(files, args.repeats)
    limit = _logs_counts._TABLE_MAX_N
    _logs_counts._TABLE_MAX_N = 0
    try:
        t_bisect, by_bisect = timed(files, args.repeats)
    finally:
        _logs_counts._TABLE_MAX_N = limit
    for a, b in zip(by_table, by_bisect, strict=True):
        assert a.alpha == b.alpha
        for x, y in ((a.k, b.k), (a.k_low, b.k_low), (a.k_high, b.k_high)):
            np.testing.assert_array_equal(x, y)
    print(f"table search {t_table:.3f} s, bisection {t_bisect:.3f} s (best of {args.repeats})")
    print(f"ratio bisection / table search: {t_bisect / t_table:.1f}x (same counts)")


if __name__ == "__main__":
    main()
