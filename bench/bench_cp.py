"""Throughput and accuracy of rstheory.cp_lower against scipy, statsmodels and mpmath.

    python bench/bench_cp.py                      # 10**6 random (k, n), n <= 1e5, alpha = 1e-3
    python bench/bench_cp.py --size 2000 --mp-sample 5   # a quick check that it runs

Table 1: n uniform on [1, --nmax], k uniform on [0, n], one alpha. Table 2 (harder mix):
alpha log-uniform on [1e-15, 0.5], n log-uniform on [1, 1e8]. Each method is timed as the
best of 3 runs after one warm-up run (for rstheory, the warm-up also compiles), rstheory with
``.block_until_ready()``. Ratios are rstheory's throughput over each reference's, from the
same run. Accuracy is the maximum relative error against 50-digit mpmath roots of the
binomial tail (the route of tests/reference/make_reference.py) on a random subsample.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
import scipy
import scipy.special
import scipy.stats
import statsmodels
from statsmodels.stats.proportion import proportion_confint

import rstheory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reference"))
import make_reference

STATSMODELS_MAX = 200_000  # statsmodels is timed on at most this many cases, then scaled


def draw_uniform(rng, size, nmax):
    n = rng.integers(1, nmax + 1, size)
    k = rng.integers(0, n + 1)
    return k, n


def draw_hard(rng, size, nmax=10**8):
    n = np.maximum(1, np.round(10 ** rng.uniform(0, np.log10(nmax), size))).astype(np.int64)
    k = rng.integers(0, n + 1)
    alpha = 10 ** rng.uniform(-15, np.log10(0.5), size)
    return k, n, alpha


def scipy_beta_ppf(k, n, alpha):
    with np.errstate(all="ignore"):
        q = scipy.stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1)
    return np.where(k == 0, 0.0, q)


def scipy_betaincinv(k, n, alpha):
    with np.errstate(all="ignore"):
        q = scipy.special.betaincinv(np.maximum(k, 1), n - k + 1, alpha)
    return np.where(k == 0, 0.0, q)


def statsmodels_beta(k, n, alpha):
    return proportion_confint(k, n, alpha=2 * alpha, method="beta")[0]


def rstheory_lower(k, n, alpha):
    return rstheory.cp_lower(k, n, alpha=alpha).block_until_ready()


def best_of(fn, args, repeats=3):
    fn(*args)  # warm-up: compilation, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def mp_reference(k, n, alpha):
    k, n, alpha = int(k), int(n), float(alpha)
    if k == 0:
        return 0.0
    cf = make_reference.closed_form(k, n, alpha, "lower")
    if cf is not None:
        return cf
    start = float(scipy_beta_ppf(np.array(k), np.array(n), np.array(alpha)))
    return make_reference.root_mpmath(k, n, alpha, "lower", start)[0]


def max_rel_error(values, refs):
    import mpmath

    worst = 0.0
    with mpmath.workdps(make_reference.DPS):
        for v, r in zip(values, refs, strict=True):
            if r == 0:
                err = 0.0 if v == 0 else float("inf")
            elif not np.isfinite(v):
                err = float("inf")
            else:
                err = float(abs(mpmath.mpf(float(v)) / r - 1))
            worst = max(worst, err)
    return worst


def run_table(title, k, n, alpha, mp_sample, rng):
    size = k.size
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), k.shape)
    print(f"\n## {title}: {size} bounds")
    timings = {}
    timings["rstheory.cp_lower"] = best_of(rstheory_lower, (k, n, alpha)) / size
    timings["scipy.stats.beta.ppf"] = best_of(scipy_beta_ppf, (k, n, alpha)) / size
    timings["scipy.special.betaincinv"] = best_of(scipy_betaincinv, (k, n, alpha)) / size
    m = min(size, STATSMODELS_MAX)
    timings["statsmodels proportion_confint"] = (
        best_of(statsmodels_beta, (k[:m], n[:m], alpha[:m])) / m
    )
    sm_note = "" if m == size else f"  (timed on the first {m} cases, per-bound time scaled)"

    idx = rng.choice(size, size=min(mp_sample, size), replace=False)
    t0 = time.perf_counter()
    refs = [mp_reference(k[i], n[i], alpha[i]) for i in idx]
    mp_time = time.perf_counter() - t0
    sub = (k[idx], n[idx], alpha[idx])
    errors = {
        "rstheory.cp_lower": max_rel_error(
            np.asarray(rstheory.cp_lower(*sub[:2], alpha=sub[2])), refs
        ),
        "scipy.stats.beta.ppf": max_rel_error(scipy_beta_ppf(*sub), refs),
        "scipy.special.betaincinv": max_rel_error(scipy_betaincinv(*sub), refs),
        "statsmodels proportion_confint": max_rel_error(statsmodels_beta(*sub), refs),
    }

    print(f"{'method':32s} {'bounds/s':>12s} {'us/bound':>10s} {'max rel err vs mpmath':>22s}")
    for name, t in timings.items():
        note = sm_note if name.startswith("statsmodels") else ""
        print(f"{name:32s} {1 / t:12.4g} {t * 1e6:10.4g} {errors[name]:22.3g}{note}")
    print(f"(accuracy on {len(idx)} random cases; mpmath took {mp_time:.1f} s)")
    ours = timings["rstheory.cp_lower"]
    for name, t in timings.items():
        if name != "rstheory.cp_lower":
            print(f"ratio rstheory.cp_lower vs {name}: {t / ours:.3g}x throughput")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="number of (k, n) pairs")
    parser.add_argument("--nmax", type=int, default=100_000, help="largest n in table 1")
    parser.add_argument("--alpha", type=float, default=0.001, help="alpha in table 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mp-sample", type=int, default=200, help="cases checked against mpmath, table 1"
    )
    parser.add_argument(
        "--mp-sample-hard",
        type=int,
        default=None,
        help="cases checked against mpmath, table 2 (default: min(--mp-sample, 40); "
        "a 50-digit root at n = 1e8 takes seconds)",
    )
    args = parser.parse_args(argv)

    print("# rstheory.cp_lower benchmark")
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(affinity {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})"
    )
    print(
        f"jax {jax.__version__} (backend {jax.default_backend()}, devices {jax.devices()}), "
        f"scipy {scipy.__version__}, numpy {np.__version__}, statsmodels "
        f"{statsmodels.__version__}, "
        f"rstheory {rstheory.__version__}"
    )
    print(f"args: {vars(args)}")

    rng = np.random.default_rng(args.seed)
    k, n = draw_uniform(rng, args.size, args.nmax)
    run_table(
        f"uniform n in [1, {args.nmax}], k in [0, n], alpha = {args.alpha:g}",
        k,
        n,
        args.alpha,
        args.mp_sample,
        rng,
    )
    k, n, alpha = draw_hard(rng, args.size)
    mp_hard = min(args.mp_sample, 40) if args.mp_sample_hard is None else args.mp_sample_hard
    run_table(
        "harder mix: alpha log-uniform in [1e-15, 0.5], n log-uniform in [1, 1e8]",
        k,
        n,
        alpha,
        mp_hard,
        rng,
    )


if __name__ == "__main__":
    main()
