"""``rstheory analyze FILE...``: certified accuracy, ACR, intervals and other-n predictions of
certification logs, computed by :mod:`rstheory.analyze` and formatted here (the figure of
``--plot`` in :mod:`rstheory._cli_analyze_plot`, matplotlib imported only then)."""

from __future__ import annotations

import argparse

from rstheory._cli_options import ALPHA, level_or_infer
from rstheory._cli_tables import Column, print_table

__all__ = ["RADII", "add_analyze", "compute_analyze", "print_analyze"]

# Radii of the accuracy columns without --radii.
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


def add_analyze(sub) -> argparse.ArgumentParser:
    """The ``analyze`` subcommand's parser, added to ``sub``."""
    p = sub.add_parser(
        "analyze",
        help="certified accuracy, ACR and what other n would give, from certification logs",
        description="Read certification logs (Cohen et al.'s CERTIFY TSV, the 2024 paper's CSV, "
        "rows of python -m sampler collect; detected from the content) and print the certified "
        "accuracy at radii with dataset-level confidence intervals, the average certified radius "
        "(ACR), the abstention rate and the time per input; several files give one table.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="certification logs")
    p.add_argument("--format", choices=("cohen", "p2", "rows"), help="format (default: detected)")
    p.add_argument("--sigma", type=float, help="noise level (default: from the file or its path)")
    p.add_argument(
        "--alpha",
        type=level_or_infer,
        help=f"certificate level (default: from the file, else {ALPHA}); 'infer': the one of "
        "0.1, 0.05, 0.01, 0.001 whose bound reproduces the most printed radii (needs --n)",
    )
    p.add_argument("--n", type=int, help="estimation samples per input (Cohen's logs hold none)")
    p.add_argument(
        "--n0",
        type=int,
        help="selection samples (0: single-stage; p2 default 0, 100 for Cohen et al.'s "
        "n = 100,000 file)",
    )
    p.add_argument("--config-hash", metavar="HASH", help="rows of several configurations: this one")
    p.add_argument(
        "--radii", type=float, nargs="+", metavar="R", help=f"accuracy radii (default {RADII})"
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="level of the dataset-level intervals (default 0.95)",
    )
    p.add_argument("--table", choices=("markdown", "latex"), help="also print Cohen et al.'s table")
    p.add_argument(
        "--predict-n",
        type=int,
        nargs="+",
        metavar="N",
        help="exact expected ACR and accuracy at these n (needs --n for Cohen's logs)",
    )
    p.add_argument(
        "--target-ratio",
        type=float,
        metavar="R",
        help="smallest n whose expected ACR is at least R times that at the run's n",
    )
    p.add_argument(
        "--model",
        choices=("empirical", "fit"),
        default="empirical",
        help="Pr(p_A) of the predictions: each input's recovered p_A, or the beta fit "
        "(default empirical)",
    )
    p.add_argument(
        "--predict-n0",
        type=int,
        metavar="N0",
        help="selection samples of the predicted runs (0: single-stage; default: the run's --n0)",
    )
    p.add_argument(
        "--predict-alpha",
        type=float,
        metavar="A",
        help="certificate level of the predicted runs (default: the run's --alpha)",
    )
    p.add_argument(
        "--plot", metavar="PATH", help="write a PNG of certified accuracy against radius"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def _labels(logs) -> list[str]:
    labels = [f"{log.sigma:.2f}" for log in logs]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({log.path})" for lab, log in zip(labels, logs, strict=True)]
    return labels


def _finite(x: float):
    return None if x != x else float(x)


def _one(log, args, radii) -> dict:
    from rstheory import analyze

    s = analyze.summarize(log, radii=radii)
    ci = analyze.log_interval(log, radii, confidence=args.confidence)
    out = {
        "path": log.path,
        "format": log.format,
        "sigma": log.sigma,
        "alpha": log.alpha,
        "n": log.n,
        "n0": log.n0,
        "inputs": s.inputs,
        "acr": s.acr,
        "abstain_rate": s.abstain_rate,
        "clean_accuracy": s.clean_accuracy,
        "mean_time": _finite(s.mean_time),
        "radii": [
            {
                "radius": float(r),
                "accuracy": float(a),
                "certified": int(c),
                "low": float(lo),
                "high": float(hi),
                "robust_low": float(rl),
                "test_set_low": float(tl),
            }
            for r, a, c, lo, hi, rl, tl in zip(
                radii,
                s.accuracy,
                ci.certified,
                ci.low,
                ci.high,
                ci.robust_low,
                ci.test_set_low,
                strict=True,
            )
        ],
    }
    if log.k is not None:
        known = log.k >= 0
        width = (log.k_high - log.k_low)[known & log.consistent]
        out["counts"] = {
            "recovered": int(known.sum()),
            "exact": int(log.exact_counts()[known].sum()),
            "max_width": int(width.max()) if width.size else 0,
            "inconsistent": int((~log.consistent).sum()),
        }
    if log.alpha_fit is not None:
        f = log.alpha_fit
        out["alpha_fit"] = {
            "alpha": f.alpha,
            "stated": f.stated,
            "inconsistent": dict(zip([str(a) for a in f.candidates], f.inconsistent, strict=True)),
            "tied": list(f.tied),
            "certified": f.certified,
        }
    if args.predict_n or args.target_ratio is not None:
        pr = analyze.predict(
            log,
            args.predict_n or [log.n],
            model=args.model,
            n0=args.predict_n0,
            alpha=args.predict_alpha,
            radii=radii,
            target_ratio=args.target_ratio,
        )
        out["prediction"] = {
            "model": pr.model,
            "stages": pr.stages,
            "alpha": pr.alpha,
            "run_n": pr.run_n,
            "run_acr": pr.run_acr,
            "run_expected": pr.run_expected,
            "target_ratio": pr.target_ratio,
            "target_n": pr.target_n,
            "grid": [
                {
                    "n": int(n),
                    "acr": float(a),
                    "acr_low": float(al),
                    "accuracy": [float(v) for v in acc],
                    "accuracy_low": [float(v) for v in acc_low],
                }
                for n, a, al, acc, acc_low in zip(
                    pr.n, pr.acr, pr.acr_low, pr.accuracy, pr.accuracy_low, strict=True
                )
            ],
        }
    return out


def compute_analyze(args) -> dict:
    import numpy as np

    from rstheory import analyze

    radii = np.asarray(args.radii if args.radii else RADII, dtype=np.float64)
    logs = [
        analyze.read_log(
            f,
            format=args.format,
            sigma=args.sigma,
            alpha=args.alpha,
            n=args.n,
            n0=args.n0,
            config_hash=args.config_hash,
        )
        for f in args.files
    ]
    result = {
        "confidence": args.confidence,
        "logs": [_one(log, args, radii) for log in logs],
    }
    if args.table:
        values = [analyze.certified_accuracy(log, radii) for log in logs]
        result["table"] = analyze.vary_table(values, radii, labels=_labels(logs), style=args.table)
    if args.plot:
        from rstheory._cli_analyze_plot import plot_curves

        plot_curves(logs, _labels(logs), args.plot)
        result["plot"] = args.plot
    return result


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def print_analyze(result: dict) -> None:
    conf = result["confidence"]
    for r in result["logs"]:
        print(
            f"{r['path']} ({r['format']}): {r['inputs']} inputs, sigma = {r['sigma']:g}, "
            f"alpha = {r['alpha']:g}, n = {r['n'] or '?'}, "
            f"n0 = {'?' if r['n0'] is None else r['n0']}"
        )
        print(
            f"  ACR {r['acr']:.4f}   abstained {r['abstain_rate']:.3f}   clean accuracy "
            f"{r['clean_accuracy']:.3f}   time/input {_fmt(r['mean_time'])} s"
        )
        if "alpha_fit" in r:
            f = r["alpha_fit"]
            fits = ", ".join(f"{a}: {b}" for a, b in f["inconsistent"].items())
            how = "tie, kept" if len(f["tied"]) > 1 else "fits best"
            print(
                f"  alpha inferred: {f['alpha']:g} ({how}; stated {f['stated']:g}); certified "
                f"inputs of {f['certified']} reproduced by no count, per alpha: {fits}"
            )
        if "counts" in r:
            c = r["counts"]
            print(
                f"  counts recovered for {c['recovered']} inputs, exact for {c['exact']} "
                "(exact: a single count reproduces the printed radius or pA at this n and alpha)"
            )
            if c["exact"] < c["recovered"] - c["inconsistent"]:
                print(
                    f"  the others lie in intervals up to {c['max_width']} counts wide: radii "
                    "printed to 3 significant digits fit several counts"
                )
            if c["inconsistent"]:
                print(
                    f"  WARNING: {c['inconsistent']} printed values are reproduced by no count at "
                    f"n = {r['n']}, alpha = {r['alpha']:g}: the run used other settings "
                    "(try --alpha infer)"
                )
        print(f"  {'radius':>7} {'accuracy':>9}  {conf:.0%} interval     robust lower bound")
        for a in r["radii"]:
            print(
                f"  {a['radius']:>7g} {a['accuracy']:>9.3f}  [{a['low']:.3f}, {a['high']:.3f}]"
                f"   {a['robust_low']:.3f}"
            )
        if "prediction" in r:
            p = r["prediction"]
            print(
                f"  predicted ({p['model']} Pr(p_A), {p['stages']}, alpha = {p['alpha']:g}); "
                f"run: n = {p['run_n']}, "
                f"ACR {p['run_acr']:.4f} measured, {p['run_expected']:.4f} expected"
            )
            two = p["stages"] != "single-stage"
            head = "ACR (low-high)" if two else "ACR"
            cols = [Column("n", 8), Column(head, 17)]
            cols += [Column(f"acc@{a['radius']:g}", 7, ".3f") for a in r["radii"]]
            rows = [
                [
                    g["n"],
                    f"{g['acr_low']:.4f}-{g['acr']:.4f}" if two else f"{g['acr']:.4f}",
                    *g["accuracy"],
                ]
                for g in p["grid"]
            ]
            print_table(cols, rows, indent="  ")
            if p["target_n"] is not None:
                print(
                    f"  n for {p['target_ratio']:g} x the expected ACR at n = {p['run_n']}: "
                    f"{p['target_n']}"
                )
    if "table" in result:
        print(result["table"])
    if "plot" in result:
        print(f"figure: {result['plot']}")
