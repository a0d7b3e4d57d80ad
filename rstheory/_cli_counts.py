"""``rstheory demo`` and ``rstheory bound``: certificates and Clopper-Pearson bounds for
given vote counts, computed by :func:`rstheory.certify` and :func:`rstheory.cp_lower` and
formatted here."""

from __future__ import annotations

import argparse
import math

from rstheory._cli_options import ALPHA

__all__ = [
    "DEMO_COUNTS",
    "DEMO_SIGMAS",
    "add_bound",
    "add_demo",
    "compute_bound",
    "compute_demo",
    "count_k",
    "count_n",
    "print_bound",
    "print_demo",
]


# (k, n): top-class votes among n estimation samples. Cohen et al. (2019) certify with
# n = 100,000 and alpha = 0.001; the smaller n show how the bound and the radius shrink.
DEMO_COUNTS = (
    (100, 100),
    (99, 100),
    (90, 100),
    (60, 100),
    (50, 100),
    (990, 1000),
    (600, 1000),
    (9900, 10000),
    (99900, 100000),
)
DEMO_SIGMAS = (0.25, 0.5)


def add_demo(sub) -> argparse.ArgumentParser:
    """The ``demo`` subcommand's parser, added to ``sub``."""
    demo = sub.add_parser(
        "demo",
        help="table of certificates for example vote counts (the default)",
        description="Certificates for example vote counts: one-sided Clopper-Pearson lower "
        "bound p_lower on the top-class probability, radius sigma * Phi^-1(p_lower), "
        "abstain when p_lower <= 1/2.",
    )
    demo.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})"
    )
    demo.add_argument(
        "--sigma",
        type=float,
        nargs="+",
        action="extend",
        help="noise level(s), repeatable: --sigma 0.25 0.5 or --sigma 0.25 --sigma 0.5 "
        f"(default {' '.join(map(str, DEMO_SIGMAS))})",
    )
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return demo


def add_bound(sub) -> argparse.ArgumentParser:
    """The ``bound`` subcommand's parser, added to ``sub``."""
    bound = sub.add_parser(
        "bound",
        help="Clopper-Pearson bounds for K successes in N trials",
        description="One-sided lower and upper Clopper-Pearson bounds at confidence 1 - alpha, "
        "and the two-sided interval with alpha split evenly between the sides.",
    )
    bound.add_argument(
        "k", type=count_k, metavar="K", help="successes (top-class votes), an integer in [0, N]"
    )
    bound.add_argument(
        "n",
        type=count_n,
        metavar="N",
        help="trials (estimation samples), an integer in [1, 2**53 - 1]",
    )
    bound.add_argument(
        "--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})"
    )
    bound.add_argument("--json", action="store_true", help="print JSON instead of text")
    return bound


def _count(text: str, *, low: int, allowed: str) -> int:
    """A count written as a whole number (``990``, ``1e5``) in ``[low, MAX_COUNT]``."""
    from rstheory._validation import MAX_COUNT, MAX_COUNT_NOTE

    try:
        value = int(text)
    except ValueError:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        value = int(x) if x.is_integer() else None
    if value is None or not low <= value <= MAX_COUNT:
        note = MAX_COUNT_NOTE if value is not None and value > MAX_COUNT else ""
        raise argparse.ArgumentTypeError(f"must be {allowed}{note}, got {text!r}")
    return value


def count_k(text: str) -> int:
    """``K`` of ``rstheory bound``: an integer ``>= 0`` (``<= N`` is checked with ``N``)."""
    return _count(text, low=0, allowed="an integer in [0, N]")


def count_n(text: str) -> int:
    """``N`` of ``rstheory bound``: an integer in ``[1, 2**53 - 1]``."""
    return _count(text, low=1, allowed="an integer >= 1")


def compute_demo(args) -> dict:
    import numpy as np

    import rstheory

    sigmas = args.sigma or list(DEMO_SIGMAS)
    k = np.array([c[0] for c in DEMO_COUNTS])
    n = np.array([c[1] for c in DEMO_COUNTS])
    ns = np.unique(n)
    rows, caps = [], []
    for sigma in sigmas:
        cert = rstheory.certify(k, n, alpha=args.alpha, sigma=sigma)
        for i in range(len(k)):
            rows.append(
                {
                    "sigma": sigma,
                    "n": int(n[i]),
                    "k": int(k[i]),
                    "p_lower": float(cert.p_lower[i]),
                    "radius": float(cert.radius[i]),
                    "abstained": bool(cert.abstained[i]),
                }
            )
        # The largest radius n samples can certify: all n votes for the top class.
        p_max = rstheory.cp_lower(ns, ns, alpha=args.alpha)
        r_max = rstheory.certified_radius(p_max, sigma=sigma)
        for i in range(len(ns)):
            caps.append(
                {
                    "sigma": sigma,
                    "n": int(ns[i]),
                    "p_lower": float(p_max[i]),
                    "radius": float(r_max[i]),
                }
            )
    return {"alpha": args.alpha, "certificates": rows, "radius_caps": caps}


def print_demo(result: dict) -> None:
    alpha = result["alpha"]
    print(f"Randomized-smoothing certificates, alpha = {alpha:g}")
    print(
        f"  p_lower: one-sided {100 * (1 - alpha):g}% Clopper-Pearson lower bound on the "
        "top-class probability"
    )
    print(
        "  radius:  sigma * Phi^-1(p_lower) (Cohen et al. 2019, Thm 1); abstain if p_lower <= 1/2"
    )
    header = f"{'n':>8} {'k':>8} {'p_lower':>10} {'radius':>8}  abstained"
    for sigma in dict.fromkeys(r["sigma"] for r in result["certificates"]):
        print(f"\nsigma = {sigma:g}")
        print(header)
        for r in result["certificates"]:
            if r["sigma"] != sigma:
                continue
            print(
                f"{r['n']:>8} {r['k']:>8} {r['p_lower']:>10.6f} {r['radius']:>8.4f}  "
                f"{'yes' if r['abstained'] else 'no'}"
            )
        print("largest radius n samples can certify (k = n): sigma * Phi^-1(alpha ** (1 / n))")
        print(f"{'n':>8} {'p_lower':>10} {'radius':>8}")
        for c in result["radius_caps"]:
            if c["sigma"] == sigma:
                print(f"{c['n']:>8} {c['p_lower']:>10.6f} {c['radius']:>8.4f}")


def compute_bound(args) -> dict:
    """The bounds of ``rstheory bound``.

    Within the range where the two agree to ``1e-12`` relative (``n <= 1e8``,
    ``alpha <= 1/2``), the JAX-free scalar path of :mod:`rstheory._clopper_pearson_scalar`
    answers, so the command loads neither JAX nor ``scipy.stats``; beyond it,
    :func:`rstheory.cp_lower` and its siblings do.
    """
    from rstheory import _clopper_pearson_scalar as scalar
    from rstheory._validation import check_alpha

    if args.k > args.n:
        raise ValueError(f"argument K: must be an integer in [0, N] = [0, {args.n}], got {args.k}")
    check_alpha(args.alpha)
    if args.n <= scalar.MAX_N and args.alpha <= 0.5:
        low = scalar.cp_lower_scalar(args.k, args.n, alpha=args.alpha)
        high = scalar.cp_upper_scalar(args.k, args.n, alpha=args.alpha)
        half = 0.5 * args.alpha
        ci = (
            scalar.cp_lower_scalar(args.k, args.n, alpha=half),
            scalar.cp_upper_scalar(args.k, args.n, alpha=half),
        )
    else:
        import rstheory

        low = rstheory.cp_lower(args.k, args.n, alpha=args.alpha)
        high = rstheory.cp_upper(args.k, args.n, alpha=args.alpha)
        ci = rstheory.cp_interval(args.k, args.n, alpha=args.alpha)
    return {
        "k": args.k,
        "n": args.n,
        "alpha": args.alpha,
        "cp_lower": float(low),
        "cp_upper": float(high),
        "cp_interval": [float(ci[0]), float(ci[1])],
    }


def print_bound(result: dict) -> None:
    alpha = result["alpha"]
    conf = f"{100 * (1 - alpha):g}%"
    low, high = result["cp_interval"]
    print(f"k = {result['k']}, n = {result['n']}, alpha = {alpha:g}")
    print(f"  lower bound, one-sided {conf}:  {result['cp_lower']:.12g}")
    print(f"  upper bound, one-sided {conf}:  {result['cp_upper']:.12g}")
    print(f"  interval, two-sided {conf} (alpha/2 per side):  [{low:.12g}, {high:.12g}]")
