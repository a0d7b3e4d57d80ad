"""Wall time of rstheory.predict.n_for_abstention (exact, with p_b): the plain scan against
the scan screened by the abstention floor, in the same run.

    python bench/bench_predict.py                           # p = (0.52, 0.45): n = 4843
    python bench/bench_predict.py --p-a 0.6 --p-b 0.3       # a quick check that it runs

The plain scan (``rstheory._predict_plan._n_for_abstention_scan``) evaluates the exact
three-class abstention of :func:`rstheory.predict.predict_rates` at every ``n = 1, 2, ...``
up to the answer; :func:`rstheory.predict.n_for_abstention` first computes the floor of
:mod:`rstheory._predict_floor` (a provable lower bound) and evaluates the exact rate only
where the floor is not already above the target. Both must return the same plan (the
same ``n`` and the same abstention, bit for bit): the script exits with an error
otherwise. Each is timed as the best of ``--repeat`` warm calls (the critical-value table
is built by a first, untimed call of the screened scan); the ratio is the plain scan's
time over the screened one's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from rstheory._predict_plan import _n_for_abstention_scan
from rstheory.predict import n_for_abstention


def best_of(f, repeat: int):
    """``(least wall time of repeat calls, the last result)``."""
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p-a", type=float, default=0.52)
    parser.add_argument("--p-b", type=float, default=0.45)
    parser.add_argument("--target", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be an integer >= 1, got {args.repeat}")
    kw = dict(p_b=args.p_b, target=args.target, alpha=args.alpha)
    print(
        f"python {platform.python_version()}, {platform.processor() or platform.machine()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        f"p = ({args.p_a}, {args.p_b}), target {args.target}, alpha {args.alpha}"
    )
    n_for_abstention(args.p_a, **kw)  # warm-up: the critical-value table
    t_plain, plain = best_of(lambda: _n_for_abstention_scan(args.p_a, **kw), args.repeat)
    t_new, new = best_of(lambda: n_for_abstention(args.p_a, **kw), args.repeat)
    for name, t, plan in (("plain scan", t_plain, plain), ("screened scan", t_new, new)):
        print(f"{name:>14}: n = {plan.n}, abstain {plan.abstain!r}, {t:.4f} s")
    if new != plain:
        sys.exit(f"the two scans disagree: {plain} against {new}")
    print(f"identical n and abstain: True (n = {new.n})")
    print(f"ratio plain / screened: {t_plain / t_new:.1f}x (best of {args.repeat})")


if __name__ == "__main__":
    main()
