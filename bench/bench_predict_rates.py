"""Wall time of rstheory.predict.predict_rates against the full trinomial sum.

    python bench/bench_predict_rates.py                 # n = 250, 500, 1000, 2000, then 1e5
    python bench/bench_predict_rates.py --sizes 50 100  # a quick check that it runs

The reference sums the PREDICT decision over every count vector ``(n_A, n_B, n_C)`` of
``Multinomial(n; p_A, p_B, p_C)``, ``(n + 1)(n + 2) / 2`` cells in one NumPy array, with
the two-sided p-value ``min(1, 2 P[Bin(t + s, 1/2) >= t])`` from SciPy's binomial tail;
``predict_rates`` sums ``O(sqrt(n))`` top counts per class with the test's critical
values (docstring of ``rstheory._predict_rates``). Both are timed as the best of 3 after a
warm-up (which also builds the critical-value table); the ratio is the reference's time
over ``predict_rates``' from the same run, and the largest difference of the abstention
rates is printed beside it. Then ``predict_rates`` alone at ``n = 1e5`` (no reference).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import scipy.stats

from rstheory.predict import predict_rates

P_A, P_B = 0.5, 0.3
ALPHA = 0.001


def reference_abstain(n: int) -> float:
    a, b = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = a + b <= n
    a, b = a[keep], b[keep]
    c = n - a - b
    counts = np.sort(np.stack([a, b, c]), axis=0)
    t, s = counts[2], counts[1]
    pv = np.where(t + s > 0, np.minimum(1.0, 2.0 * scipy.stats.binom.sf(t - 1, t + s, 0.5)), 1.0)
    mass = scipy.stats.multinomial.pmf(np.stack([a, b, c], axis=1), n, [P_A, P_B, 1 - P_A - P_B])
    return float(np.sum(mass[pv > ALPHA]))


def best_of(f, repeat: int = 3) -> tuple[float, float]:
    value = f()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, p = ({P_A}, {P_B}), alpha = {ALPHA}")
    print(f"{'n':>7} {'reference s':>12} {'predict_rates s':>16} {'ratio':>8} {'max |diff|':>11}")
    for n in args.sizes:
        t_ref, ref = best_of(lambda n=n: reference_abstain(n))
        t_new, new = best_of(lambda n=n: float(predict_rates(P_A, P_B, n, alpha=ALPHA).abstain))
        print(f"{n:>7} {t_ref:>12.4f} {t_new:>16.4f} {t_ref / t_new:>8.1f} {abs(ref - new):>11.1e}")
    t0 = time.perf_counter()
    first = float(predict_rates(P_A, 0.49, args.large, alpha=ALPHA).abstain)
    t1 = time.perf_counter()
    t_large, _ = best_of(lambda: predict_rates(P_A, 0.49, args.large, alpha=ALPHA))
    print(
        f"n = {args.large}, p = ({P_A}, 0.49): abstain {first:.4g}; first call {t1 - t0:.2f} s "
        f"(builds the critical values), then {t_large:.4f} s"
    )


if __name__ == "__main__":
    main()
