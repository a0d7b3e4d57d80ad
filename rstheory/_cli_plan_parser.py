"""The parser of ``rstheory plan``: its options, their help and their defaults (the
arguments' types come from :mod:`rstheory._cli_plan_options`)."""

from __future__ import annotations

import argparse

from rstheory._cli_options import ALPHA
from rstheory._cli_plan_options import SIGMA, parse_dist, parse_prior

__all__ = ["add_plan"]


def _recorded_setting(plan: argparse.ArgumentParser, name: str, what: str, default) -> None:
    """``--NAME``, a float that defaults to the value the rows of ``--dist fit:FILE`` or
    ``empirical:FILE`` record in ``config.NAME``, else to ``default``."""
    plan.add_argument(
        f"--{name}",
        type=float,
        help=f"{what} (default: that of the rows of --dist fit:FILE or empirical:FILE when they "
        f"record one in config.{name}, else {default}); a value that conflicts with the rows' "
        "is refused",
    )


def add_plan(sub) -> argparse.ArgumentParser:
    """The ``plan`` subcommand's parser, added to ``sub``."""
    plan = sub.add_parser(
        "plan",
        help="samples n needed for a target under a model of Pr(p_A), and the campaign cost",
        description="Smallest n meeting a target on the exact expected certificate "
        "(rstheory.planning.required_samples), the closed-form estimate beside it, the "
        "exact mean radius and certified accuracy on a grid of n, and the cost of the campaign.",
    )
    plan.add_argument(
        "--dist",
        type=parse_dist,
        default="beta:8,2",
        help="Pr(p_A): point:P, uniform:LOW[,HIGH], beta:A,B[,LOW,HIGH], or from pilot counts "
        "fit:FILE (maximum-likelihood beta with atoms at 0 and 1) or empirical:FILE (plug-in "
        "k/n); FILE is a CSV with columns k and n, or JSONL rows with keys k and n (rows whose "
        "status is not 'ok' are skipped; a file holding rows of several configurations is "
        "refused unless --config-hash chooses one) (default beta:8,2)",
    )
    plan.add_argument(
        "--config-hash",
        metavar="HASH",
        help="with --dist fit:FILE or empirical:FILE of JSONL rows: use only the rows of this "
        "configuration hash (the config_hash field written by python -m sampler collect); "
        "needed when the file holds rows of several configurations",
    )
    plan.add_argument(
        "--stopping",
        choices=("fixed", "likelihood"),
        default=None,
        help="with --dist fit:FILE: fixed (default) refuses rows of the sequential rule (k/n at "
        "a data-dependent stop is no unbiased pilot of p_A); likelihood fits Pr(p_A) to their "
        "stops by the likelihood, which does not depend on the stopping rule (see "
        "rstheory.rows.load_counts); empirical:FILE refuses such rows either way",
    )
    plan.add_argument("--atom1", type=float, default=0.0, help="mass at p = 1 (default 0)")
    plan.add_argument("--atom0", type=float, default=0.0, help="mass at p = 0 (default 0)")
    _recorded_setting(plan, "alpha", "significance level", ALPHA)
    _recorded_setting(plan, "sigma", "noise level", SIGMA)
    target = plan.add_mutually_exclusive_group()
    target.add_argument("--target-ratio", type=float, help="mean radius / reference (default 0.9)")
    target.add_argument("--target-radius", type=float, help="absolute mean radius")
    target.add_argument("--target-accuracy", type=float, help="certified accuracy at --at-radius")
    plan.add_argument(
        "--reference-n", type=int, help="reference n for --target-ratio (default: infinity)"
    )
    plan.add_argument(
        "--at-radius",
        type=float,
        help="radius of --target-accuracy, of the printed accuracy column (default 0) and of "
        "--sequential (unless --sequential-radius)",
    )
    plan.add_argument("--inputs", type=int, help="inputs in the campaign (enables the budget)")
    plan.add_argument("--batch-size", type=int, default=100, help="samples per batch (default 100)")
    timing = plan.add_mutually_exclusive_group()
    timing.add_argument(
        "--seconds-per-batch", type=float, help="device seconds per batch (default 0.28)"
    )
    timing.add_argument(
        "--samples-per-second",
        type=float,
        help="instead: measured samples per second of one device (e.g. one worker of "
        "python -m sampler collect --backend ray)",
    )
    plan.add_argument("--devices", type=int, default=1, help="devices in parallel (default 1)")
    plan.add_argument("--price", type=float, help="price per device hour")
    plan.add_argument("--plot", metavar="PATH", help="write a PNG of radius and accuracy against n")
    seq = plan.add_argument_group(
        "sequential rule",
        "With --sequential the plan also evaluates the anytime-valid sequential rule "
        "(rstheory.sequential): estimation samples are drawn in batches and the input stops as "
        "soon as the beta-binomial confidence sequence certifies the radius R (or falls below it). "
        "Its n_max is the smallest multiple of the batch at which its certified fraction at R "
        "reaches that of the fixed-n rule with the planned n; printed: n_max, the exact expected "
        "samples per input, both certified fractions and the ratio fixed n / expected samples.",
    )
    seq.add_argument(
        "--sequential",
        action="store_true",
        help="also plan the sequential rule (needs --sequential-radius or --at-radius)",
    )
    seq.add_argument(
        "--sequential-radius",
        type=float,
        metavar="R",
        help="radius the sequential rule certifies (default: --at-radius)",
    )
    seq.add_argument(
        "--sequential-batch",
        type=int,
        metavar="B",
        help="samples between looks (default: --batch-size)",
    )
    seq.add_argument(
        "--prior",
        type=parse_prior,
        metavar="A,B",
        help="beta prior of the confidence sequence (default Beta(30 p*, 30 (1 - p*)))",
    )
    seq.add_argument(
        "--max-factor", type=float, default=32.0, help="largest n_max / n tried (default 32)"
    )
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return plan
