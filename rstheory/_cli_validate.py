"""``rstheory validate``: theory against the published certifications
(:func:`rstheory.published.check_published`), formatted here."""

from __future__ import annotations

import argparse

from rstheory._cli_options import level_or_infer

__all__ = ["add_validate", "compute_validate", "print_validate"]


def add_validate(sub) -> argparse.ArgumentParser:
    """The ``validate`` subcommand's parser, added to ``sub``."""
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
    validate.add_argument(
        "--reference-alpha",
        type=level_or_infer,
        default="infer",
        metavar="A",
        help="level at which the reference run's counts are recovered: 'infer' (default; the "
        "level its printed radii reproduce, 0.01 for Cohen et al.'s n = 100,000 ImageNet run, "
        "whose file states 0.001) or a level in (0, 1)",
    )
    validate.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return validate


def compute_validate(args) -> dict:
    from rstheory import published

    names = args.dataset or sorted({d for d, _ in published.available(data_dir=args.data_dir)})
    if not names:
        raise ValueError(
            f"no published certifications under {published.data_dir(args.data_dir)}: "
            f"pass --data-dir or set ${published.DATA_ENV}"
        )
    out = {"data_dir": str(published.data_dir(args.data_dir)), "datasets": []}
    for name in names:
        c = published.check_published(
            name,
            pilot_n=args.pilot_n,
            data_dir=args.data_dir,
            reference_alpha=getattr(args, "reference_alpha", "infer"),
        )
        out["datasets"].append(
            {
                "dataset": c.dataset,
                "sigma": c.sigma,
                "alpha": c.alpha,
                "reference_n": c.reference_n,
                "reference_acr": c.reference_acr,
                "reference_alpha": c.reference_alpha,
                "reference_alpha_source": c.reference_alpha_source,
                "pilot_n": c.pilot_n,
                "pilot_fit": repr(c.pilot_fit.distribution),
                "count_mismatch": c.count_mismatch,
                "reference": [r._asdict() for r in c.reference],
                "pilot": [r._asdict() for r in c.pilot],
                "plan": [r._asdict() for r in c.plan],
            }
        )
    return out


def print_validate(result: dict) -> None:
    print(f"Published certifications under {result['data_dir']}")
    for d in result["datasets"]:
        print(
            f"\n{d['dataset']}: sigma = {d['sigma']:g}, alpha = {d['alpha']:g}, reference n = "
            f"{d['reference_n']} (ACR {d['reference_acr']:.4f}); counts recovered to "
            f"{d['count_mismatch']:.1e}"
        )
        src = d.get("reference_alpha_source")
        if src == "inferred":
            print(
                f"  reference counts recovered at alpha = {d['reference_alpha']:g}: its printed "
                f"radii are reproduced by integer counts only there, not at the stated "
                f"{d['alpha']:g} (rstheory analyze --alpha infer); every run predicted at "
                f"{d['alpha']:g}"
            )
        elif src == "given":
            print(f"  reference counts recovered at alpha = {d['reference_alpha']:g} (given)")
        print("  from the reference run (ACR over correct predictions, pixel units):")
        print(f"  {'n':>7} {'measured':>9} {'exact':>9} {'(z)':>6} {'Eq.2':>9}")
        for r in d["reference"]:
            z = (r["predicted"] - r["measured"]) / r["sd"]
            print(
                f"  {r['n']:>7} {r['measured']:>9.4f} {r['predicted']:>9.4f} {z:>6.2f} "
                f"{r['eq2']:>9.4f}"
            )
        print(f"  from the n = {d['pilot_n']} pilot, fit {d['pilot_fit']}:")
        print(f"  {'n':>7} {'measured':>9} {'fit':>9} {'plug-in':>9} {'Eq.2':>9}")
        for r in d["pilot"]:
            print(
                f"  {r['n']:>7} {r['measured']:>9.4f} {r['fitted']:>9.4f} "
                f"{r['plug_in']:>9.4f} {r['eq2']:>9.4f}"
            )
        print("  n for ACR_n >= ratio x ACR_ref:")
        print(f"  {'ratio':>7} {'measured':>9} {'planner':>9} {'pilot':>9} {'Eq.2':>9}")
        for r in d["plan"]:
            print(
                f"  {r['target_ratio']:>7.2f} {r['measured']:>9.0f} {r['planner']:>9d} "
                f"{r['planner_from_pilot']:>9d} {r['eq2']:>9.0f}"
            )
