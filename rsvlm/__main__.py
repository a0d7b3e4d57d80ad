"""``python -m rsvlm demo``: the end-to-end demonstration (``make demo``).

Runs the small LLaVA trained on the toy task of :mod:`sampler._toy_task` (trained on first
use, then cached) on held-out toy images with two oracles (answer classes and refusal
judge) and a sweep over sigma (``--model-kind random``: the tiny random LLaVA, built when
missing, on synthetic images with a rule oracle), certifies, fits Pr(p_A), compares mean
radius and certified accuracy against n (subsampled votes, exact expectations, closed
forms), plans n and its cost, attacks the certified inputs (the trained kind's certified
refusals) with L2 PGD against the base and the smoothed model, compares the theory with the
published certifications, runs the theorem checks, writes
``<out-dir>/report.md`` (with PNG figures and ``report.json``) and prints its path. Exit
status 1 when a step failed (the report still shows which), 2 for bad arguments.

Example::

    python -m rsvlm demo --images 3 --n0 4 --n 32 --theorems radius.cohen2019_thm1
"""

from __future__ import annotations

import argparse
import sys

from rsvlm._demo import DemoConfig


def _parser() -> argparse.ArgumentParser:
    d = DemoConfig()
    p = argparse.ArgumentParser(prog="python -m rsvlm", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("demo", help="run the end-to-end demonstration and write a report")
    add = lambda flag, typ, help: a.add_argument(
        flag,
        type=typ,
        default=getattr(d, flag[2:].replace("-", "_")),
        help=f"{help} (default %(default)s)",
    )
    add("--out-dir", str, "folder of the report, figures, inputs and rows")
    a.add_argument(
        "--model-kind",
        choices=("trained", "random"),
        default=d.model_kind,
        help="the LLaVA trained on the toy task, or the tiny random one (default %(default)s)",
    )
    add("--model", str, "random kind: model folder or hub id, the tiny random LLaVA built there")
    add("--cache-dir", str, "trained kind: cache of the trained model (default: the sampler's)")
    add("--images", int, "number of input images")
    add("--image-size", int, "random kind: side of the synthetic images in pixels")
    add("--n0", int, "selection samples per input")
    add("--n", int, "estimation samples per input")
    add("--sigma", float, "noise level, [0,1] pixel units")
    add("--alpha", float, "significance level of each certificate")
    add("--seed", int, "seed of the images, the campaign and the subsampling")
    a.add_argument(
        "--oracle",
        choices=("actions", "refusal", "answers"),
        default=d.oracle,
        help="answers to classes: ActionParser, RefusalJudge or the toy task's answer words "
        "(default: answers for the trained kind, actions for the random one)",
    )
    add("--max-new-tokens", int, "tokens per answer; None: the kind's own, 16 trained, 8 random")
    add("--temperature", float, "sampling temperature; 0 decodes greedily")
    add("--batch-size", int, "noisy copies per generate call")
    add(
        "--prompt",
        str,
        "one prompt for every image; None: the kind's own (trained: toy questions)",
    )
    add("--repeats", int, "subsamples per input and size for the curves")
    add("--at-radius", float, "radius at which the certified fraction is counted")
    add("--target-ratio", float, "planner target: E[R_n] >= ratio * E[R_reference-n]")
    add("--reference-n", int, "planner's reference sample size")
    add("--pilot-n", int, "votes per input of the planner's pilot; None: max(4, n // 16)")
    add("--campaign-inputs", int, "inputs of the campaign whose cost is planned")
    add(
        "--example-seconds-per-batch",
        float,
        "device-seconds per batch of the paper's example (2.8 s per input at n = 100 on 4 A100: "
        "11.2); 0 omits that line",
    )
    add("--example-batch-size", int, "batch size of the paper's example")
    add("--example-devices", int, "devices of the paper's example")
    a.add_argument(
        "--data-dir",
        default=None,
        help="folder holding p2-certifications/ (default: $RSVLM_DATA_DIR or the checkout's data/)",
    )
    a.add_argument("--skip-published", action="store_true", help="skip the published data")
    a.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="published datasets to compare, e.g. cifar10 imagenet (default: all found)",
    )
    a.add_argument(
        "--theorems",
        nargs="+",
        default=None,
        metavar="NAME",
        help="run only these proofs_check theorems (default: all)",
    )
    add("--dps", int, "mpmath digits of the theorem checks")
    a.add_argument(
        "--skip-attack", action="store_true", help="skip the attack of the certified inputs"
    )
    add("--attack-inputs", int, "attack: certified inputs attacked at most (the first ones)")
    add("--attack-steps", int, "attack: PGD steps per attack")
    add("--attack-draws", int, "attack: noise draws per step against the smoothed model")
    add("--attack-n", int, "attack: PREDICT's noisy copies judging the smoothed model")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    cfg = DemoConfig(**{k: v for k, v in vars(args).items() if k != "command"})
    for name in (
        "images",
        "image_size",
        "n0",
        "n",
        "batch_size",
        "repeats",
        "reference_n",
        "campaign_inputs",
        "example_batch_size",
        "example_devices",
        "attack_inputs",
        "attack_draws",
        "attack_n",
    ):
        if getattr(cfg, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    if cfg.attack_steps < 0:
        print("error: --attack-steps must be >= 0", file=sys.stderr)
        return 2
    if cfg.max_new_tokens is not None and cfg.max_new_tokens < 1:
        print("error: --max-new-tokens must be >= 1", file=sys.stderr)
        return 2
    if cfg.pilot_n is not None and not 1 <= cfg.pilot_n <= cfg.n:
        print(f"error: --pilot-n must be in [1, --n = {cfg.n}], got {cfg.pilot_n}", file=sys.stderr)
        return 2
    if cfg.images < 2:
        print("error: --images must be >= 2 (the fit needs two inputs)", file=sys.stderr)
        return 2
    from rsvlm._demo import run_demo

    path, ok = run_demo(cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
