"""``rstheory plan``: the samples n a target needs under a model of Pr(p_A), the exact curves
around it, the campaign's cost and the sequential rule beside it, computed by
:func:`rstheory.planning.required_samples`, :func:`rstheory.planning.budget` and
:func:`rstheory.sequential.compare_fixed` and formatted here. ``--dist fit:FILE`` reads its
pilot counts with :func:`rstheory.rows.read_counts`, and the rows' sigma and alpha with
:func:`rstheory.rows.read_settings`.

The plan of a law of :mod:`rstheory._plan_laws` (``--dist point:``, ``uniform:``,
``beta:``, with the atoms) without ``--sequential`` and ``--plot`` is computed by
:mod:`rstheory._plan_scipy` (no JAX); every other by :mod:`rstheory._plan_jax` (the
functions named above), with the same numbers.

This module computes the plan; its parser is :mod:`rstheory._cli_plan_parser`, the options
that need more than argparse :mod:`rstheory._cli_plan_options`, its text
:mod:`rstheory._cli_plan_print` and its figure :mod:`rstheory._cli_plot`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from rstheory._cli_plan_options import (
    SIGMA,
    PilotCounts,
    parse_dist,
    parse_prior,
    pilot_dist,
    pilot_settings,
    resolve_options,
)
from rstheory._cli_plan_parser import add_plan
from rstheory._cli_plan_print import print_plan

if TYPE_CHECKING:  # imported when the plan is computed, not when the parser is built
    from rstheory._budget import Throughput

__all__ = [
    "PLAN_GRID",
    "SIGMA",
    "PilotCounts",
    "add_plan",
    "compute_plan",
    "parse_dist",
    "parse_prior",
    "pilot_dist",
    "pilot_settings",
    "print_plan",
    "resolve_options",
]

PLAN_GRID = (25, 100, 1000, 10_000, 100_000)


def _path(dist, args):
    """The module that computes the plan: :mod:`rstheory._plan_scipy` (no JAX) for a law of
    ``--dist point:``, ``uniform:`` or ``beta:`` without ``--sequential`` and ``--plot``,
    else :mod:`rstheory._plan_jax`."""
    from rstheory._plan_laws import is_law

    if is_law(dist) and not args.sequential and not args.plot:
        from rstheory import _plan_scipy

        return _plan_scipy
    from rstheory import _plan_jax

    return _plan_jax


def compute_plan(args) -> dict:
    import numpy as np

    from rstheory._plan_laws import is_law, with_atoms

    dist = with_atoms(args.dist, args.atom0, args.atom1)
    path = _path(dist, args)
    if is_law(dist) and path.__name__ != "rstheory._plan_scipy":
        dist = dist.model()
    kinds = {
        "target_ratio": args.target_ratio,
        "target_radius": args.target_radius,
        "target_accuracy": args.target_accuracy,
    }
    if all(v is None for v in kinds.values()):
        kinds["target_ratio"] = 0.9
    targets = {k: v for k, v in kinds.items() if v is not None}
    if args.reference_n is not None:
        targets["reference_n"] = args.reference_n
    if args.at_radius is not None and "target_accuracy" in targets:
        targets["at_radius"] = args.at_radius  # else the radius of the accuracy column only
    settings = {"alpha": args.alpha, "sigma": args.sigma}
    plan = path.required_samples(dist, **settings, **targets)
    closed_reason = path.closed_form_reason(dist, **settings, **targets)
    grid = np.unique(np.array([*PLAN_GRID, int(plan.n)]))
    at = args.at_radius if args.at_radius is not None else 0.0
    exact = path.exact_curves(dist, grid, **settings, radius=at)  # one pass for both
    closed = float(plan.closed_form_n)
    result = {
        "alpha": args.alpha,
        "sigma": args.sigma,
        "sources": dict(getattr(args, "sources", {})),
        "distribution": repr(dist),
        "targets": targets,
        "n": int(plan.n),
        "achieved": float(plan.achieved),
        "target": float(plan.target),
        "closed_form_n": None if closed != closed else closed,
        "closed_form_reason": closed_reason,
        "grid": [
            {
                "n": int(n),
                "mean_radius": float(r),
                "radius_cap": float(c),
                "accuracy": float(a),
                "eq2_ratio": float(e),
            }
            for n, r, a, c, e in zip(
                grid,
                exact.radius,
                exact.accuracy[:, 0],
                path.radius_cap(grid, **settings),
                path.eq2_ratio(grid, alpha=args.alpha),
                strict=True,
            )
        ],
        "accuracy_radius": at,
    }
    if args.inputs is not None:
        from rstheory import _budget  # no JAX: rstheory.planning holds its names

        hardware = _throughput(args)
        cost = _budget.budget(int(plan.n), args.inputs, throughput=hardware)
        result["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.sequential:
        result["sequential"] = _sequential(dist, args, int(plan.n))
        if args.inputs is not None:
            q = result["sequential"]
            cost = _budget.expected_budget(
                q["expected_samples"],
                args.inputs,
                throughput=_at_batch_size(hardware, q["batch_size"]),
            )
            q["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.plot:
        from rstheory._cli_plot import plot_plan

        plot_plan(dist, args, result)
        result["plot"] = args.plot
    return result


def _throughput(args) -> Throughput:
    """The hardware of the options: ``--batch-size``, the measured ``--samples-per-second``
    when given, else ``--seconds-per-batch`` (0.28 by default), ``--devices`` and
    ``--price``."""
    if args.samples_per_second is not None:
        timing = {"samples_per_second": args.samples_per_second}
    else:
        spb = 0.28 if args.seconds_per_batch is None else args.seconds_per_batch
        timing = {"seconds_per_batch": spb}
    from rstheory._budget import Throughput

    return Throughput(
        batch_size=args.batch_size,
        devices=args.devices,
        price_per_device_hour=args.price,
        **timing,
    )


def _at_batch_size(hardware: Throughput, batch_size: int) -> Throughput:
    """``hardware`` with batches of ``batch_size``: the same samples per second, or the
    seconds per batch scaled in proportion to the batch size."""
    if hardware.seconds_per_batch is None:
        return dataclasses.replace(hardware, batch_size=batch_size)
    spb = hardware.seconds_per_batch * batch_size / hardware.batch_size
    return dataclasses.replace(hardware, batch_size=batch_size, seconds_per_batch=spb)


def _sequential(dist, args, n: int) -> dict:
    from rstheory import sequential

    radius = args.sequential_radius if args.sequential_radius is not None else args.at_radius
    if radius is None:
        raise ValueError(
            "--sequential needs the radius to certify: --sequential-radius R or --at-radius R"
        )
    batch = args.sequential_batch if args.sequential_batch is not None else args.batch_size
    c = sequential.compare_fixed(
        dist,
        radius=radius,
        sigma=args.sigma,
        alpha=args.alpha,
        batch_size=batch,
        n=n,
        prior=args.prior,
        max_factor=args.max_factor,
    )
    s = c.sequential
    return {
        "radius": float(radius),
        "p_star": s.p_star,
        "batch_size": batch,
        "prior": list(s.prior),
        **c.summary(),
    }
