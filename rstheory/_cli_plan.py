"""``rstheory plan``: the samples n a target needs under a model of Pr(p_A), the exact curves
around it, the campaign's cost and the sequential rule beside it, computed by
:func:`rstheory.planning.required_samples`, :func:`rstheory.planning.budget` and
:func:`rstheory.sequential.compare_fixed` and formatted here. ``--dist fit:FILE`` reads its
pilot counts with :func:`rstheory.rows.read_counts`, and the rows' sigma and alpha with
:func:`rstheory.rows.read_settings`."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from rstheory._cli_options import ALPHA
from rstheory._cli_plot import plot_plan

if TYPE_CHECKING:  # imported when the plan is computed, not when the parser is built
    from rstheory.planning import Throughput

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

# The noise level of a plan without --sigma and without rows that record theirs.
SIGMA = 0.5


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
    plan.add_argument(
        "--alpha",
        type=float,
        help="significance level (default: that of the rows of --dist fit:FILE or "
        f"empirical:FILE when they record one in config.alpha, else {ALPHA}); a value that "
        "conflicts with the rows' is refused",
    )
    plan.add_argument(
        "--sigma",
        type=float,
        help="noise level (default: that of the rows of --dist fit:FILE or empirical:FILE "
        f"when they record one in config.sigma, else {SIGMA}); a value that conflicts with "
        "the rows' is refused",
    )
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


class PilotCounts(NamedTuple):
    """``--dist fit:FILE`` or ``empirical:FILE``, read once the options are parsed (the file
    may need ``--config-hash``)."""

    kind: str
    path: str
    text: str


def parse_dist(text: str):
    """``point:P``, ``uniform:LOW[,HIGH]``, ``beta:A,B[,LOW,HIGH]`` -> a distribution;
    ``fit:FILE`` or ``empirical:FILE`` -> :class:`PilotCounts` (see :func:`pilot_dist`)."""
    from rstheory import distributions

    kind, _, params = text.partition(":")
    if kind in ("fit", "empirical"):
        return PilotCounts(kind, params, text)
    try:
        values = [float(v) for v in params.split(",") if v]
        model = {
            "point": distributions.PointMass,
            "uniform": distributions.Uniform,
            "beta": distributions.Beta,
        }[kind]
        return model(*values)
    except (KeyError, TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(
            f"--dist must be point:P, uniform:LOW[,HIGH], beta:A,B[,LOW,HIGH], fit:FILE or "
            f"empirical:FILE, got {text!r} ({err})"
        ) from None


def pilot_dist(spec: PilotCounts, config_hash: str | None, stopping: str | None = None):
    """The distribution of ``--dist fit:FILE`` / ``empirical:FILE``: the maximum-likelihood
    fit or the plug-in law of the file's counts (:func:`rstheory.rows.read_counts`).
    ``stopping`` (``--stopping``): ``"likelihood"`` lets the fit take rows of the
    sequential rule (their stops); the plug-in law never takes them (``k / n`` at a
    data-dependent stop is biased, and no likelihood argument mends a plug-in).

    Raises:
      ValueError: the file cannot be read, has a bad row, holds several configurations
        and ``--config-hash`` chose none, or holds rows of the sequential rule without
        ``--stopping likelihood`` (or with ``empirical:``).
    """
    from rstheory import distributions, rows
    from rstheory._rows import mixed_configurations

    if spec.kind == "empirical" and stopping == "likelihood":
        raise ValueError(
            f"--dist {spec.text!r}: --stopping likelihood applies to --dist fit:FILE only: the "
            "plug-in law of k/n stays biased at data-dependent stops; use fit:FILE"
        )
    try:
        k, n = rows.read_counts(spec.path, config_hash=config_hash, stopping=stopping or "fixed")
    except rows.ConfigMismatchError as err:
        raise ValueError(
            f"--dist {spec.text!r}: {mixed_configurations(spec.path, err.hashes)}; "
            "choose one with --config-hash HASH"
        ) from None
    except ValueError as err:
        raise ValueError(f"--dist {spec.text!r}: {err}") from None
    if spec.kind == "empirical":
        return distributions.Empirical.from_counts(k, n)
    return distributions.fit(k, n).distribution


def pilot_settings(spec: PilotCounts, config_hash: str | None) -> dict[str, float]:
    """The ``sigma`` and ``alpha`` that the rows of ``--dist fit:FILE`` / ``empirical:FILE``
    record (:func:`rstheory.rows.read_settings`); those they do not record are left out.

    Raises:
      ValueError: as :func:`pilot_dist`, or the selected rows disagree on a value.
    """
    from rstheory import rows

    try:
        return rows.read_settings(spec.path, config_hash=config_hash)
    except ValueError as err:
        raise ValueError(f"--dist {spec.text!r}: {err}") from None


def resolve_options(args, parser: argparse.ArgumentParser) -> None:
    """Replace ``args.dist`` of ``fit:FILE`` / ``empirical:FILE`` by its distribution, once
    ``--config-hash`` is known, and settle ``args.sigma`` and ``args.alpha``: the rows' values
    when they record them, else the options, else the defaults; ``args.sources`` says which
    (a file, ``--sigma`` / ``--alpha``, or ``default``). A bad file, rows that disagree, an
    option that conflicts with the rows, or a misplaced option exits through
    ``parser.error`` (status 2).
    """
    recorded, path = {}, None
    if isinstance(args.dist, PilotCounts):
        spec = args.dist
        try:
            args.dist = pilot_dist(spec, args.config_hash, args.stopping)
            recorded, path = pilot_settings(spec, args.config_hash), spec.path
        except ValueError as err:
            parser.error(f"argument --dist: {err}")
    elif args.config_hash is not None:
        parser.error("argument --config-hash: applies to --dist fit:FILE or empirical:FILE only")
    elif args.stopping is not None:
        parser.error("argument --stopping: applies to --dist fit:FILE only")
    args.sources = {}
    for name, default in (("sigma", SIGMA), ("alpha", ALPHA)):
        given = getattr(args, name)
        if name in recorded:
            value = recorded[name]
            if given is not None and given != value:
                parser.error(
                    f"argument --{name}: {given!r} conflicts with {name} = {value!r} of the rows "
                    f"in {path} (their config.{name}); leave --{name} out to plan at {value!r}"
                )
            setattr(args, name, value)
            args.sources[name] = path
        elif given is not None:
            args.sources[name] = f"--{name}"
        else:
            setattr(args, name, default)
            args.sources[name] = "default"


def parse_prior(text: str) -> tuple[float, float]:
    """``A,B`` -> ``(A, B)`` (rstheory checks that both are > 0)."""
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--prior must be A,B (two numbers), got {text!r}"
        ) from None
    return a, b


def compute_plan(args) -> dict:
    import numpy as np

    from rstheory import distributions, planning, scaling
    from rstheory._exact import exact_for
    from rstheory._planning import closed_form_reason

    dist = args.dist
    if args.atom0 or args.atom1:
        rest = 1.0 - args.atom0 - args.atom1
        dist = distributions.Mixture(
            [distributions.PointMass(0.0), distributions.PointMass(1.0), dist],
            [args.atom0, args.atom1, rest],
        )
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
    plan = planning.required_samples(dist, alpha=args.alpha, sigma=args.sigma, **targets)
    closed_reason = closed_form_reason(dist, alpha=args.alpha, sigma=args.sigma, **targets)
    grid = np.unique(np.array([*PLAN_GRID, int(plan.n)]))
    at = args.at_radius if args.at_radius is not None else 0.0
    exact = exact_for(
        dist, grid, alpha=args.alpha, sigma=args.sigma, radii=(at,)
    )  # one pass for both
    radius, accuracy = exact.radius[0], exact.accuracy[0, :, 0]
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
                radius,
                accuracy,
                np.asarray(scaling.radius_cap(grid, alpha=args.alpha, sigma=args.sigma)),
                np.asarray(scaling.average_radius_ratio(grid, alpha=args.alpha)),
                strict=True,
            )
        ],
        "accuracy_radius": at,
    }
    if args.inputs is not None:
        hardware = _throughput(args)
        cost = planning.budget(int(plan.n), args.inputs, throughput=hardware)
        result["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.sequential:
        result["sequential"] = _sequential(dist, args, int(plan.n))
        if args.inputs is not None:
            q = result["sequential"]
            cost = planning.expected_budget(
                q["expected_samples"],
                args.inputs,
                throughput=_at_batch_size(hardware, q["batch_size"]),
            )
            q["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.plot:
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
    from rstheory.planning import Throughput

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


def _budget_line(b: dict) -> str:
    """A budget of :func:`compute_plan` in one line; the cost only when a price was given."""
    cost = "" if b["cost"] != b["cost"] else f", cost {b['cost']:.4g}"
    return (
        f"{b['batches']:.0f} batches, {b['wall_seconds'] / 3600:.3g} h wall, "
        f"{b['device_hours']:.3g} device hours{cost}"
    )


def _source(result: dict, name: str) -> str:
    """`` (from FILE)``, `` (--sigma)`` or `` (default)``: where a setting of the plan came from."""
    source = result.get("sources", {}).get(name)
    if source is None:
        return ""
    return f" ({source})" if source == "default" or source.startswith("--") else f" (from {source})"


def print_plan(result: dict) -> None:
    print(
        f"Plan: alpha = {result['alpha']:g}{_source(result, 'alpha')}, "
        f"sigma = {result['sigma']:g}{_source(result, 'sigma')}, "
        f"Pr(p_A) = {result['distribution']}"
    )
    print(f"  targets: {result['targets']}")
    print(
        f"  required n (exact search): {result['n']}   achieved {result['achieved']:.6g} "
        f"(target {result['target']:.6g})"
    )
    if result["closed_form_n"] is None:
        print(f"  closed-form estimate of n: not available ({result['closed_form_reason']})")
    else:
        print(f"  closed-form estimate of n: {result['closed_form_n']:.6g}")
    print(f"  accuracy: certified accuracy at radius {result['accuracy_radius']:g}")
    print(f"{'n':>8} {'E[R_n]':>10} {'cap':>8} {'accuracy':>9} {'Eq.2':>7}")
    for r in result["grid"]:
        print(
            f"{r['n']:>8} {r['mean_radius']:>10.4f} {r['radius_cap']:>8.4f} "
            f"{r['accuracy']:>9.4f} {r['eq2_ratio']:>7.4f}"
        )
    if "sequential" in result:
        q = result["sequential"]
        print(
            f"  sequential rule at radius {q['radius']:g} (p* = {q['p_star']:.6g}), looks every "
            f"{q['batch_size']} samples, prior Beta({q['prior'][0]:.4g}, {q['prior'][1]:.4g}):"
        )
        print(
            f"    fixed n = {q['fixed_n']}: certified fraction {q['fixed_certified_fraction']:.4f}"
        )
        reach = "" if q["matched"] else " (NOT reached: raise --max-factor)"
        print(
            f"    sequential n_max = {q['n_max']}{reach}: certified fraction "
            f"{q['certified_fraction']:.4f}, E[samples] = {q['expected_samples']:.1f} "
            f"(futility {q['futility_fraction']:.4f}, n_max {q['max_fraction']:.4f})"
        )
        print(f"    ratio fixed n / E[samples] = {q['ratio']:.3g}")
        if "budget" in q:
            print(f"    expected campaign: {_budget_line(q['budget'])}")
    if "budget" in result:
        print(f"  campaign: {_budget_line(result['budget'])}")
    if "plot" in result:
        print(f"  figure: {result['plot']}")
