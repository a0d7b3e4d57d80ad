"""Command-line interface: ``rstheory demo``, ``bound``, ``plan`` and ``validate``.

The parser is built inside :func:`main`, so importing this module does nothing. All numbers
come from the public :mod:`rstheory` functions; this module only formats them.

Examples (shell)::

    rstheory                      # same as `rstheory demo`
    rstheory demo --sigma 0.12 0.25 0.5 1.0 --alpha 0.001
    rstheory demo --json
    rstheory bound 990 1000 --alpha 0.001
    rstheory plan --dist beta:8,2 --atom1 0.2 --target-ratio 0.9 --reference-n 100000 \
        --inputs 500 --batch-size 100 --seconds-per-batch 0.28 --plot plan.png
    rstheory plan --dist beta:8,2 --target-accuracy 0.6 --at-radius 0.25 --sequential
    rstheory validate --data-dir data
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

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
DEMO_ALPHA = 0.001

_SUBCOMMANDS = ("demo", "bound", "plan", "validate")


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its subcommands' parsers (by name, for their error messages)."""
    parser = argparse.ArgumentParser(
        prog="rstheory",
        description="Randomized-smoothing certificates from vote counts "
        "(Clopper-Pearson bound, Cohen et al. 2019 radius).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{demo,bound,plan,validate}")

    demo = sub.add_parser(
        "demo",
        help="table of certificates for example vote counts (the default)",
        description="Certificates for example vote counts: one-sided Clopper-Pearson lower "
        "bound p_lower on the top-class probability, radius sigma * Phi^-1(p_lower), "
        "abstain when p_lower <= 1/2.",
    )
    demo.add_argument(
        "--alpha", type=float, default=DEMO_ALPHA, help=f"significance level (default {DEMO_ALPHA})"
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

    bound = sub.add_parser(
        "bound",
        help="Clopper-Pearson bounds for K successes in N trials",
        description="One-sided lower and upper Clopper-Pearson bounds at confidence 1 - alpha, "
        "and the two-sided interval with alpha split evenly between the sides.",
    )
    bound.add_argument("k", type=_number, metavar="K", help="successes (top-class votes)")
    bound.add_argument("n", type=_number, metavar="N", help="trials (estimation samples)")
    bound.add_argument(
        "--alpha", type=float, default=DEMO_ALPHA, help=f"significance level (default {DEMO_ALPHA})"
    )
    bound.add_argument("--json", action="store_true", help="print JSON instead of text")

    plan = sub.add_parser(
        "plan",
        help="samples n needed for a target under a model of Pr(p_A), and the campaign cost",
        description="Smallest n meeting a target on the exact expected certificate "
        "(rstheory.planning.required_samples), the closed-form estimate beside it, the "
        "exact mean radius and certified accuracy on a grid of n, and the cost of the campaign.",
    )
    plan.add_argument(
        "--dist",
        type=_distribution,
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
    plan.add_argument("--atom1", type=float, default=0.0, help="mass at p = 1 (default 0)")
    plan.add_argument("--atom0", type=float, default=0.0, help="mass at p = 0 (default 0)")
    plan.add_argument("--alpha", type=float, default=DEMO_ALPHA, help=f"default {DEMO_ALPHA}")
    plan.add_argument("--sigma", type=float, default=0.5, help="noise level (default 0.5)")
    target = plan.add_mutually_exclusive_group()
    target.add_argument("--target-ratio", type=float, help="mean radius / reference (default 0.9)")
    target.add_argument("--target-radius", type=float, help="absolute mean radius")
    target.add_argument("--target-accuracy", type=float, help="certified accuracy at --at-radius")
    plan.add_argument(
        "--reference-n", type=int, help="reference n for --target-ratio (default: infinity)"
    )
    plan.add_argument("--at-radius", type=float, help="radius for --target-accuracy")
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
        type=_prior,
        metavar="A,B",
        help="beta prior of the confidence sequence (default Beta(30 p*, 30 (1 - p*)))",
    )
    seq.add_argument(
        "--max-factor", type=float, default=32.0, help="largest n_max / n tried (default 32)"
    )
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")

    validate = sub.add_parser(
        "validate",
        help="predict published certifications at other n and compare with what was measured",
        description="Theory against published measurement (rstheory.published.check_published): "
        "the average certified radius at every published n, predicted from the largest run and "
        "from a small pilot, beside P2's Eq. (2), and the n each route plans for a target ratio.",
    )
    validate.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding p2-certifications/ (default: $RSVLM_DATA_DIR or the checkout's data/)",
    )
    validate.add_argument("--dataset", nargs="+", help="datasets (default: every one found)")
    validate.add_argument(
        "--pilot-n", type=int, default=100, help="published n used as the pilot (default 100)"
    )
    validate.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser, {"demo": demo, "bound": bound, "plan": plan, "validate": validate}


class _PilotCounts(NamedTuple):
    """``--dist fit:FILE`` or ``empirical:FILE``, read once the options are parsed (the file
    may need ``--config-hash``)."""

    kind: str
    path: str
    text: str


def _distribution(text: str):
    """``point:P``, ``uniform:LOW[,HIGH]``, ``beta:A,B[,LOW,HIGH]`` -> a distribution;
    ``fit:FILE`` or ``empirical:FILE`` -> :class:`_PilotCounts` (see :func:`_pilot_dist`)."""
    from rstheory import distributions

    kind, _, params = text.partition(":")
    if kind in ("fit", "empirical"):
        return _PilotCounts(kind, params, text)
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


def _pilot_dist(spec: _PilotCounts, config_hash: str | None):
    """The distribution of ``--dist fit:FILE`` / ``empirical:FILE``: the maximum-likelihood
    fit or the plug-in law of the file's counts (:func:`rstheory.rows.read_counts`).

    Raises:
      ValueError: the file cannot be read, has a bad row, or holds several configurations
        and ``--config-hash`` chose none.
    """
    from rstheory import distributions, rows

    try:
        k, n = rows.read_counts(spec.path, config_hash=config_hash)
    except rows.ConfigMismatchError as err:
        shown = ", ".join("(none)" if h is None else h for h in err.hashes)
        raise ValueError(
            f"--dist {spec.text!r}: {spec.path} holds rows of {len(err.hashes)} "
            f"configurations (config_hash {shown}): mixing them would mix distributions; "
            "choose one with --config-hash HASH"
        ) from None
    except ValueError as err:
        raise ValueError(f"--dist {spec.text!r}: {err}") from None
    if spec.kind == "empirical":
        return distributions.Empirical.from_counts(k, n)
    return distributions.fit(k, n).distribution


def _prior(text: str) -> tuple[float, float]:
    """``A,B`` -> ``(A, B)`` (rstheory checks that both are > 0)."""
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--prior must be A,B (two numbers), got {text!r}"
        ) from None
    return a, b


def _number(text: str) -> int | float:
    """An int where the text is a whole number (``990``, ``1e5``), else a float (rstheory
    rejects it with its own message)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return int(x) if x.is_integer() else x


def _demo(args) -> dict:
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


def _print_demo(result: dict) -> None:
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


def _bound(args) -> dict:
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
        "cp_interval": [float(ci.low), float(ci.high)],
    }


def _print_bound(result: dict) -> None:
    alpha = result["alpha"]
    conf = f"{100 * (1 - alpha):g}%"
    low, high = result["cp_interval"]
    print(f"k = {result['k']}, n = {result['n']}, alpha = {alpha:g}")
    print(f"  lower bound, one-sided {conf}:  {result['cp_lower']:.12g}")
    print(f"  upper bound, one-sided {conf}:  {result['cp_upper']:.12g}")
    print(f"  interval, two-sided {conf} (alpha/2 per side):  [{low:.12g}, {high:.12g}]")


PLAN_GRID = (25, 100, 1000, 10_000, 100_000)


def _plan(args) -> dict:
    import numpy as np

    from rstheory import distributions, planning, scaling
    from rstheory._exact import _exact_for

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
    if args.at_radius is not None:
        targets["at_radius"] = args.at_radius
    plan = planning.required_samples(dist, alpha=args.alpha, sigma=args.sigma, **targets)
    grid = np.unique(np.array([*PLAN_GRID, int(plan.n)]))
    at = args.at_radius if args.at_radius is not None else 0.0
    exact = _exact_for(dist, grid, alpha=args.alpha, sigma=args.sigma, radii=(at,))  # one pass for both
    radius, accuracy = exact.radius[0], exact.accuracy[0, :, 0]
    result = {
        "alpha": args.alpha,
        "sigma": args.sigma,
        "distribution": repr(dist),
        "targets": targets,
        "n": int(plan.n),
        "achieved": float(plan.achieved),
        "target": float(plan.target),
        "closed_form_n": float(plan.closed_form_n),
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
            )
        ],
        "accuracy_radius": at,
    }
    if args.inputs is not None:
        cost = planning.budget(
            int(plan.n),
            args.inputs,
            batch_size=args.batch_size,
            devices=args.devices,
            price_per_device_hour=args.price,
            **_timing(args, args.batch_size),
        )
        result["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.sequential:
        result["sequential"] = _sequential(dist, args, int(plan.n))
        if args.inputs is not None:
            q = result["sequential"]
            cost = planning.expected_budget(
                q["expected_samples"],
                args.inputs,
                batch_size=q["batch_size"],
                devices=args.devices,
                price_per_device_hour=args.price,
                **_timing(args, q["batch_size"]),
            )
            q["budget"] = {k: float(v) for k, v in cost._asdict().items()}
    if args.plot:
        _plot_plan(dist, args, result)
        result["plot"] = args.plot
    return result


def _timing(args, batch_size: int) -> dict:
    """The batch time for ``planning.budget``: the measured throughput when given, else the
    seconds per batch of ``--batch-size`` (0.28 by default), scaled to ``batch_size``."""
    if args.samples_per_second is not None:
        return {"samples_per_second": args.samples_per_second}
    spb = 0.28 if args.seconds_per_batch is None else args.seconds_per_batch
    return {"seconds_per_batch": spb * batch_size / args.batch_size}


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


def _plot_plan(dist, args, result) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rstheory import scaling
    from rstheory._exact import _exact_for

    ns = np.unique(np.round(np.logspace(1, 5, 17)).astype(int))
    exact = _exact_for(
        dist,
        np.append(ns, 10**6),
        alpha=args.alpha,
        sigma=args.sigma,
        radii=(result["accuracy_radius"],),
    )
    radius, accuracy, big = exact.radius[0, :-1], exact.accuracy[0, :-1, 0], exact.radius[0, -1]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.semilogx(ns, radius, "o-", label="exact E[R_n]")
    ax1.semilogx(
        ns,
        big * np.asarray(scaling.average_radius_ratio(ns, alpha=args.alpha)),
        "--",
        label="Eq. 2 x E[R_1e6]",
    )
    ax1.semilogx(
        ns,
        np.asarray(scaling.radius_cap(ns, alpha=args.alpha, sigma=args.sigma)),
        ":",
        label="cap sigma Phi^-1(alpha^(1/n))",
    )
    ax1.axvline(result["n"], color="k", lw=0.8, label=f"planned n = {result['n']}")
    ax1.set_xlabel("samples per input n")
    ax1.set_ylabel("mean certified radius (L2, pixel units)")
    ax1.legend(fontsize=8)
    ax2.semilogx(ns, accuracy, "o-")
    ax2.set_xlabel("samples per input n")
    ax2.set_ylabel(f"certified fraction at radius {result['accuracy_radius']:g}")
    fig.suptitle(f"alpha = {args.alpha:g}, sigma = {args.sigma:g}")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    plt.close(fig)


def _print_plan(result: dict) -> None:
    print(
        f"Plan: alpha = {result['alpha']:g}, sigma = {result['sigma']:g}, Pr(p_A) = {result['distribution']}"
    )
    print(f"  targets: {result['targets']}")
    print(
        f"  required n (exact search): {result['n']}   achieved {result['achieved']:.6g} "
        f"(target {result['target']:.6g})"
    )
    print(f"  closed-form estimate of n: {result['closed_form_n']:.6g}")
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
            b = q["budget"]
            print(
                f"    expected campaign: {b['batches']:.0f} batches, "
                f"{b['wall_seconds'] / 3600:.3g} h wall, {b['device_hours']:.3g} device hours"
                + ("" if b["cost"] != b["cost"] else f", cost {b['cost']:.4g}")
            )
    if "budget" in result:
        b = result["budget"]
        print(
            f"  campaign: {b['batches']:.0f} batches, {b['wall_seconds'] / 3600:.3g} h wall, "
            f"{b['device_hours']:.3g} device hours"
            + ("" if b["cost"] != b["cost"] else f", cost {b['cost']:.4g}")
        )
    if "plot" in result:
        print(f"  figure: {result['plot']}")


def compilation_cache_dir() -> Path | None:
    """Where the command line keeps XLA's compiled programs between runs, or ``None``.

    ``$RSTHEORY_CACHE_DIR`` when set (empty or ``off`` turns the cache off), else
    ``$XDG_CACHE_HOME/rstheory/xla`` (``~/.cache/rstheory/xla``). With the cache, a second
    ``rstheory plan`` loads the Clopper-Pearson solver instead of compiling it again
    (seconds saved per run). ``$JAX_COMPILATION_CACHE_DIR``, when set, wins: JAX reads it.
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    explicit = os.environ.get("RSTHEORY_CACHE_DIR")
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "none") else Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rstheory" / "xla"


def _enable_compilation_cache() -> None:
    path = compilation_cache_dir()
    if path is None:
        return
    import jax

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: run without the cache
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Cache every program, not only those that took over a second to compile: the many
    # small ones add up at start-up.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def _validate(args) -> dict:
    from rstheory import published

    names = args.dataset or sorted({d for d, _ in published.available(data_dir=args.data_dir)})
    if not names:
        raise ValueError(
            f"no published certifications under {published.data_dir(args.data_dir)}: "
            f"pass --data-dir or set ${published.DATA_ENV}"
        )
    out = {"data_dir": str(published.data_dir(args.data_dir)), "datasets": []}
    for name in names:
        c = published.check_published(name, pilot_n=args.pilot_n, data_dir=args.data_dir)
        out["datasets"].append(
            {
                "dataset": c.dataset,
                "sigma": c.sigma,
                "alpha": c.alpha,
                "reference_n": c.reference_n,
                "reference_acr": c.reference_acr,
                "pilot_n": c.pilot_n,
                "pilot_fit": repr(c.pilot_fit.distribution),
                "count_mismatch": c.count_mismatch,
                "reference": [r._asdict() for r in c.reference],
                "pilot": [r._asdict() for r in c.pilot],
                "plan": [r._asdict() for r in c.plan],
            }
        )
    return out


def _print_validate(result: dict) -> None:
    print(f"Published certifications under {result['data_dir']}")
    for d in result["datasets"]:
        print(
            f"\n{d['dataset']}: sigma = {d['sigma']:g}, alpha = {d['alpha']:g}, reference n = "
            f"{d['reference_n']} (ACR {d['reference_acr']:.4f}); counts recovered to "
            f"{d['count_mismatch']:.1e}"
        )
        print("  from the reference run (ACR over correct predictions, pixel units):")
        print(f"  {'n':>7} {'measured':>9} {'exact':>9} {'(z)':>6} {'Eq.2':>9}")
        for r in d["reference"]:
            z = (r["predicted"] - r["measured"]) / r["sd"]
            print(
                f"  {r['n']:>7} {r['measured']:>9.4f} {r['predicted']:>9.4f} {z:>6.2f} {r['eq2']:>9.4f}"
            )
        print(f"  from the n = {d['pilot_n']} pilot, fit {d['pilot_fit']}:")
        print(f"  {'n':>7} {'measured':>9} {'fit':>9} {'plug-in':>9} {'Eq.2':>9}")
        for r in d["pilot"]:
            print(
                f"  {r['n']:>7} {r['measured']:>9.4f} {r['fitted']:>9.4f} {r['plug_in']:>9.4f} {r['eq2']:>9.4f}"
            )
        print("  n for ACR_n >= ratio x ACR_ref:")
        print(f"  {'ratio':>7} {'measured':>9} {'planner':>9} {'pilot':>9} {'Eq.2':>9}")
        for r in d["plan"]:
            print(
                f"  {r['target_ratio']:>7.2f} {r['measured']:>9.0f} {r['planner']:>9d} "
                f"{r['planner_from_pilot']:>9d} {r['eq2']:>9.0f}"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in _SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["demo", *argv]
    parser, commands = _build_parser()
    args = parser.parse_args(argv)
    _enable_compilation_cache()
    if args.command == "plan":
        if isinstance(args.dist, _PilotCounts):
            try:
                args.dist = _pilot_dist(args.dist, args.config_hash)
            except ValueError as err:
                commands["plan"].error(f"argument --dist: {err}")  # exits with status 2
        elif args.config_hash is not None:
            commands["plan"].error(
                "argument --config-hash: applies to --dist fit:FILE or empirical:FILE only"
            )
    try:
        compute, show = {
            "demo": (_demo, _print_demo),
            "bound": (_bound, _print_bound),
            "plan": (_plan, _print_plan),
            "validate": (_validate, _print_validate),
        }[args.command]
        result = compute(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    return 0
