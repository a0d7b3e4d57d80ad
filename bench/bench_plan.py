"""How fast ``rstheory plan`` answers, and the batched search against plain bisection.

Measured in one run:

* start-up: a fresh interpreter importing rstheory's command line and the SciPy path of
  ``plan`` (:mod:`rstheory._plan_scipy`; no JAX);
* ``rstheory plan`` end to end in a subprocess, with an empty XLA compilation cache (first
  run on a machine) and again with the cache it left (every later run); the time "after
  start-up" is the end-to-end time minus the start-up;
* the reference of ``bench_cli.py`` (a SciPy one-liner in a fresh interpreter) and the
  ratios of both ``rstheory plan`` times to it;
* in-process, warm: :func:`rstheory.planning.required_samples` (bracketing in groups and a
  9-way split per round, one batched exact evaluation per round) against a straightforward
  bisection that calls :func:`rstheory.scaling.expected_radius` once per candidate ``n``;
  both must return the same ``n``; and the SciPy path of the command line
  (:func:`rstheory._plan_scipy.required_samples`, no JAX), which must return it too.

Usage::

    python bench/bench_plan.py                    # Beta(8, 2), ratio 0.9
    python bench/bench_plan.py --dist beta:2,0.5 --target-ratio 0.95 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from _timing import best_of, run_timed

# The reference of the command-line goals (bench_cli.py): a SciPy one-liner in a fresh process.
REFERENCE = "from scipy.stats import beta; print(beta.ppf(0.001, 990, 11))"


def _bisection(dist, target: float, alpha: float, sigma: float, n_max: int = 10**7) -> int:
    """The straightforward search: doubling, then integer bisection, one exact call per n."""
    from rstheory import scaling

    def f(n: int) -> float:
        return float(scaling.expected_radius(dist, n, alpha=alpha, sigma=sigma))

    if f(1) >= target:
        return 1
    lo, hi = 1, 2
    while f(min(hi, n_max)) < target:
        lo, hi = hi, 2 * hi
    hi = min(hi, n_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if f(mid) >= target else (mid, hi)
    return hi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", default="beta:8,2", help="as rstheory plan --dist")
    parser.add_argument("--target-ratio", type=float, default=0.9)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    args = parser.parse_args()

    env = dict(os.environ)
    print(
        f"python {sys.version.split()[0]}, OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}, "
        f"cores {os.cpu_count()}"
    )
    plan_cmd = [
        sys.executable,
        "-m",
        "rstheory",
        "plan",
        "--dist",
        args.dist,
        "--target-ratio",
        str(args.target_ratio),
        "--alpha",
        str(args.alpha),
        "--sigma",
        str(args.sigma),
    ]
    reference = best_of([sys.executable, "-c", REFERENCE], env, args.repeat)
    startup = best_of(
        [sys.executable, "-c", "import rstheory._cli, rstheory._plan_scipy"],
        env,
        args.repeat,
    )
    with tempfile.TemporaryDirectory() as cache:
        env["RSTHEORY_CACHE_DIR"] = cache
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        cold = run_timed(plan_cmd, env)
        warm = best_of(plan_cmd, env, args.repeat)
    print(f"reference scipy one-liner:                {reference:7.2f} s")
    print(f"start-up (rstheory's CLI, SciPy path):    {startup:7.2f} s")
    print(
        f"rstheory plan, empty compilation cache:   {cold:7.2f} s  "
        f"({cold - startup:.2f} s after start-up, ratio {cold / reference:.2f} to the reference)"
    )
    print(
        f"rstheory plan, warm compilation cache:    {warm:7.2f} s  "
        f"({warm - startup:.2f} s after start-up, ratio {warm / reference:.2f} to the reference)"
    )

    from rstheory import _plan_scipy, planning
    from rstheory._cli_plan import parse_dist

    law = parse_dist(args.dist)  # a law of the SciPy path; its model is the JAX path's
    dist = law.model()
    kw = dict(alpha=args.alpha, sigma=args.sigma, target_ratio=args.target_ratio)
    plan = planning.required_samples(dist, **kw)  # warm-up (compilation)
    t_batched = min(
        _timed(lambda: planning.required_samples(dist, **kw)) for _ in range(args.repeat)
    )
    t_bisect = min(
        _timed(lambda: _bisection(dist, plan.target, args.alpha, args.sigma))
        for _ in range(args.repeat)
    )
    n_bisect = _bisection(dist, plan.target, args.alpha, args.sigma)
    print(f"required_samples (batched search), warm:  {t_batched:7.3f} s  -> n = {plan.n}")
    print(f"plain bisection, one exact call per n:    {t_bisect:7.3f} s  -> n = {n_bisect}")
    print(f"ratio required_samples vs plain bisection: {t_bisect / t_batched:.1f}x")
    t_scipy = min(
        _timed(lambda: _plan_scipy.required_samples(law, **kw)) for _ in range(args.repeat)
    )
    n_scipy = _plan_scipy.required_samples(law, **kw).n
    print(f"required_samples, SciPy path (no JAX):     {t_scipy:7.3f} s  -> n = {n_scipy}")
    print(f"ratio JAX path (warm) vs SciPy path:       {t_batched / t_scipy:.2f}x")
    if n_scipy != plan.n:
        sys.exit(f"the two paths disagree: {plan.n} vs {n_scipy}")
    if n_bisect != plan.n:
        sys.exit(f"the two searches disagree: {plan.n} vs {n_bisect}")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
