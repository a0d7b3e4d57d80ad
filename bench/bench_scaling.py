"""The exact expected-radius curve E[R_n]: rstheory.scaling.expected_radius against a
straightforward scipy implementation, timed in the same run.

    python bench/bench_scaling.py                         # 30 n from 10 to 1e5, 200 points
    python bench/bench_scaling.py --num-n 4 --n-max 300 --points 5   # a quick check that it runs

The law of p is the empirical distribution of ``--points`` values drawn from Beta(8, 2)
(seeded), alpha = 0.001, sigma = 0.5. rstheory computes the whole curve in one call
(``expected_radius(dist, ns, ...)``); its first call, which compiles, is timed apart from
the warm calls (best of ``--repeat``), each ended with ``.block_until_ready()``. The scipy
reference is what one would write directly: for each n, the Clopper-Pearson table
``beta.ppf(alpha, k, n - k + 1)`` for k = 0..n once (0 at k = 0), the radius
``sigma norm.ppf(L)`` where ``L > 1/2`` (else 0), then for each p the full sum of
``binom.pmf(k, n, p)`` times the radius, averaged over the points. The ratio is scipy's
time over rstheory's warm time; the agreement is the largest absolute difference of the two
curves (scipy's beta.ppf is itself accurate to about 1e-9 relative at large n).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np
import scipy
import scipy.stats

import rstheory
from rstheory import scaling
from rstheory.distributions import Empirical

ALPHA = 0.001
SIGMA = 0.5


def sample_sizes(num: int, n_min: int, n_max: int) -> np.ndarray:
    """``num`` log-spaced integers from ``n_min`` to ``n_max``, rounded, unique (may be fewer)."""
    return np.unique(np.round(np.logspace(np.log10(n_min), np.log10(n_max), num)).astype(np.int64))


def scipy_curve(points: np.ndarray, ns: np.ndarray, alpha: float, sigma: float) -> np.ndarray:
    """E[R_n] for every n by the straightforward scipy route described in the module docstring."""
    out = np.empty(ns.size)
    for j, n in enumerate(ns):
        n = int(n)
        k = np.arange(n + 1)
        with np.errstate(all="ignore"):
            low = scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1)
        low = np.where(k == 0, 0.0, low)
        radius = np.where(low > 0.5, sigma * scipy.stats.norm.ppf(np.maximum(low, 0.5)), 0.0)
        total = 0.0
        for p in points:
            total += scipy.stats.binom.pmf(k, n, p) @ radius
        out[j] = total / points.size
    return out


def rstheory_curve(dist, ns, alpha: float, sigma: float) -> np.ndarray:
    out = scaling.expected_radius(dist, ns, alpha=alpha, sigma=sigma)
    return np.asarray(out.block_until_ready())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-n", type=int, default=30, help="number of log-spaced n (default 30)")
    parser.add_argument("--n-min", type=int, default=10, help="smallest n (default 10)")
    parser.add_argument("--n-max", type=int, default=100_000, help="largest n (default 1e5)")
    parser.add_argument("--points", type=int, default=200, help="values of p drawn from Beta(8, 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="warm rstheory calls (best is kept)")
    args = parser.parse_args(argv)

    print("# rstheory.scaling.expected_radius benchmark")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(affinity {affinity}), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(
        f"jax {jax.__version__} (backend {jax.default_backend()}, devices {jax.devices()}), "
        f"scipy {scipy.__version__}, numpy {np.__version__}, rstheory {rstheory.__version__}"
    )
    print(f"args: {vars(args)}")

    rng = np.random.default_rng(args.seed)
    points = rng.beta(8.0, 2.0, args.points)
    dist = Empirical(points)
    ns = sample_sizes(args.num_n, args.n_min, args.n_max)
    print(
        f"{ns.size} sample sizes from {ns[0]} to {ns[-1]}; {args.points} points from Beta(8, 2) "
        f"(seed {args.seed}); alpha = {ALPHA:g}, sigma = {SIGMA:g}"
    )

    t0 = time.perf_counter()
    first = rstheory_curve(dist, ns, ALPHA, SIGMA)
    t_first = time.perf_counter() - t0
    warm_times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        ours = rstheory_curve(dist, ns, ALPHA, SIGMA)
        warm_times.append(time.perf_counter() - t0)
    t_warm = min(warm_times)

    t0 = time.perf_counter()
    ref = scipy_curve(points, ns, ALPHA, SIGMA)
    t_scipy = time.perf_counter() - t0

    print(f"\n{'n':>8s} {'E[R_n] rstheory':>18s} {'E[R_n] scipy':>18s} {'|difference|':>13s}")
    for n, a, b in zip(ns, ours, ref, strict=True):
        print(f"{n:8d} {a:18.12f} {b:18.12f} {abs(a - b):13.2e}")
    print()
    print(f"rstheory.scaling.expected_radius, first call (compiles): {t_first:.3f} s")
    print(f"rstheory.scaling.expected_radius, warm (best of {len(warm_times)}): {t_warm:.3f} s")
    print(f"scipy straightforward: {t_scipy:.3f} s")
    print(
        "ratio rstheory.scaling.expected_radius vs scipy straightforward: "
        f"{t_scipy / t_warm:.1f}x (warm; {t_scipy / t_first:.1f}x counting the first call)"
    )
    print(f"first and warm rstheory curves identical: {bool(np.array_equal(first, ours))}")
    print(f"agreement: max |rstheory - scipy| over the curve = {np.max(np.abs(ours - ref)):.3e}")


if __name__ == "__main__":
    main()
