"""``python -m sampler attack``: L2 PGD against the base and the smoothed model of the inputs
of a certify run, one JSONL row per ``(input, budget, against)``
(:func:`sampler.attack.attack_campaign`), then the success rates below and above the
certified radius against the certificate's bound (:func:`sampler.attack.summarize`) on
stdout, per row and per input (an input broken when any of its budgets is a success), and
with ``--plot`` the robust accuracy curve (:func:`sampler.attack.plot_curve`, the certified
accuracy drawn exactly from the radii: :func:`sampler.attack.certified_curve`).

Two ways in::

    python -m sampler attack --model M --rows CERTIFY.jsonl --out ATTACK.jsonl --eps 0.1,0.5
    python -m sampler attack --model M --data IMAGES --certify-out CERTIFY.jsonl \
        --n0 N0 --n N --sigma S --alpha A --out ATTACK.jsonl --radius-multiples 0.5,2

The second certifies first (:func:`sampler.run.run`, resumable), then attacks. ``--model``
is a VLM directory or hub id (``--oracle refusal`` labels its answers), or
``efficientnet-lite0`` for the real classifier of :mod:`sampler.real_models`. A rerun of
the same command skips the rows already in ``--out``.

Exit codes: 0 every attack has an ok row; 2 bad arguments or files (nothing run), among
them certify rows of another model than ``--model``, an ``--out`` that is the file of
``--rows`` or ``--certify-out`` and an ``--out`` holding rows of another attack
configuration, model or certify run; 3 some attacks of the inputs attacked
have error rows in ``--out`` (their messages are in the rows; a rerun skips them, so it
exits 3 again); 130 interrupted (the rows written so far are kept: run the same command
again to resume). The refusals and codes are those of :mod:`sampler._cli_exit`, shared
with ``collect`` and ``predict``; a refusal of an attack or certification setting names
its option (``--judge-alpha: alpha must lie in ...``).
"""

from __future__ import annotations

import argparse
import json
import pathlib

from sampler._cli_exit import Refused, refusing, rows_exit, run_command

__all__ = ["add_attack"]

PROG = "python -m sampler attack"

CLASSIFIERS = ("efficientnet-lite0",)


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def add_attack(sub) -> None:
    """Add the ``attack`` subcommand to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "attack",
        help="L2 PGD against the base and the smoothed model of certified inputs",
        description="Attack the inputs of a certify run (or certify images first) with L2 "
        "PGD (Madry et al. 2018) against the base model and the smoothed one (SmoothAdv, "
        "Salman et al. 2019), judge success by the real decision (PREDICT for the smoothed "
        "model), write one row per (input, budget, against), and compare the success rate "
        "below the certified radius with the certificate's bound.",
    )
    p.add_argument("--model", required=True, metavar="DIR_OR_ID", help="VLM or efficientnet-lite0")
    p.add_argument("--out", required=True, type=pathlib.Path, help="attack rows (JSONL)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--rows", type=pathlib.Path, help="rows of a certify run (JSONL)")
    src.add_argument("--data", help="images (a folder or a JSONL dataset) to certify first")
    c = p.add_argument_group("certification (with --data)")
    c.add_argument("--certify-out", type=pathlib.Path, help="where the certify rows go")
    c.add_argument("--n0", type=int, default=64)
    c.add_argument("--n", type=int, default=1000)
    c.add_argument("--sigma", type=float)
    c.add_argument("--alpha", type=float, default=0.001)
    c.add_argument("--prompt", help="the prompt of a folder of images (a VLM)")
    a = p.add_argument_group("attack")
    a.add_argument("--eps", type=_floats, default=(), help="absolute L2 budgets, e.g. 0.1,0.5")
    a.add_argument("--radius-multiples", type=_floats, default=(), help="budgets m*R, e.g. 0.5,2")
    a.add_argument("--against", type=_names, default=("base", "smoothed"), help="base,smoothed")
    a.add_argument("--steps", type=int, default=20)
    a.add_argument("--step-size", type=float, default=None, help="default 2.5*eps/steps")
    a.add_argument("--restarts", type=int, default=1)
    a.add_argument("--draws", type=int, default=16, help="noise draws per smoothed gradient")
    a.add_argument("--judge-n", type=int, default=100, help="PREDICT's copies when judging")
    a.add_argument("--judge-alpha", type=float, default=0.001, help="PREDICT's level")
    a.add_argument("--batch-size", type=int, default=50)
    a.add_argument("--oracle", choices=("refusal",), default=None, help="a VLM's oracle")
    a.add_argument("--text", default=None, help="a VLM's teacher-forced answer")
    a.add_argument("--direction", choices=("away", "toward"), default="away")
    a.add_argument("--max-new-tokens", type=int, default=16, help="a VLM's answer length")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--limit", type=int, default=None, help="attack the first N certified inputs")
    a.add_argument("--device", default="cpu")
    a.add_argument("--plot", type=pathlib.Path, default=None, help="robust accuracy plot (PNG)")
    a.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_run_attack)


#: The option of each field of :class:`sampler.attack.AttackConfig` and of the
#: certification's :class:`sampler.CertifyConfig` (``--data``), for the refusals.
ATTACK_OPTIONS = {
    "eps": "--eps",
    "radius_multiples": "--radius-multiples",
    "against": "--against",
    "steps": "--steps",
    "step_size": "--step-size",
    "restarts": "--restarts",
    "draws": "--draws",
    "n": "--judge-n",
    "alpha": "--judge-alpha",
    "batch_size": "--batch-size",
    "text": "--text",
    "seed": "--seed",
}
CERTIFY_OPTIONS = {
    "n0": "--n0",
    "n": "--n",
    "sigma": "--sigma",
    "alpha": "--alpha",
    "seed": "--seed",
    "batch_size": "--batch-size",
}


class _naming(refusing):
    """A block whose ``ValueError`` is a refusal prefixed with the option of the field its
    message is about (``"<field> must ..."``; ``options``: field name to option), or with
    nothing."""

    def __init__(self, options: dict[str, str]):
        super().__init__()
        self.options = options

    def __exit__(self, kind, err, tb) -> bool:
        if isinstance(err, ValueError):
            field, _, rest = str(err).partition(" ")
            option = self.options.get(field) if rest.startswith("must ") else None
            self.prefix = "" if option is None else f"{option}: "
        return super().__exit__(kind, err, tb)


def _config(args):
    from sampler._attack_run import AttackConfig

    with _naming(ATTACK_OPTIONS):
        return AttackConfig(
            eps=args.eps,
            radius_multiples=args.radius_multiples,
            against=args.against,
            steps=args.steps,
            step_size=args.step_size,
            restarts=args.restarts,
            draws=args.draws,
            n=args.judge_n,
            alpha=args.judge_alpha,
            batch_size=args.batch_size,
            text=args.text,
            direction=args.direction,
            seed=args.seed,
        )


def _check(args) -> None:
    if args.rows is not None and not args.rows.is_file():
        raise Refused(f"--rows: no file {args.rows}")
    if args.data is not None:
        if args.certify_out is None or args.sigma is None:
            raise Refused("--data needs --certify-out FILE and --sigma S")
    if args.limit is not None and args.limit < 1:
        raise Refused(f"--limit must be an integer >= 1, got {args.limit}")
    if args.out.is_dir() or not args.out.parent.is_dir():
        raise Refused(f"--out: {args.out} must be a file in an existing folder")
    for option, path in (("--rows", args.rows), ("--certify-out", args.certify_out)):
        if path is not None and path.resolve() == args.out.resolve():
            raise Refused(f"--out: {args.out} is the file of {option}: write to another file")
    classifier = args.model in CLASSIFIERS
    if classifier and (args.oracle or args.text):
        raise Refused("--oracle and --text apply to a VLM, not to a classifier")
    if not classifier and args.oracle is None:
        args.oracle = "refusal"


def _load(args):
    if args.model in CLASSIFIERS:
        from sampler._real_models import efficientnet_lite0_classifier

        return efficientnet_lite0_classifier(device=args.device), None
    from sampler._cli_collect import _loading_bar
    from sampler._models import DecodingConfig
    from sampler._models_vlm import VLM
    from sampler._oracle_rules import RefusalJudge

    with (
        refusing(f"--model: cannot load {args.model!r}: ", catch=(OSError, ValueError)),
        _loading_bar(not args.quiet),
    ):
        model = VLM.from_pretrained(
            args.model,
            device=args.device,
            decoding=DecodingConfig(max_new_tokens=args.max_new_tokens),
        )
    return model, RefusalJudge()


def _certify_config(args):
    """The certification of ``--data`` (None with ``--rows``), checked before the model
    loads."""
    if args.data is None:
        return None
    from sampler._config import CertifyConfig

    with _naming(CERTIFY_OPTIONS):
        return CertifyConfig(
            n0=args.n0,
            n=args.n,
            sigma=args.sigma,
            alpha=args.alpha,
            seed=args.seed,
            batch_size=args.batch_size,
        )


def _certify_rows(args, model, oracle, cfg):
    from sampler._run import run

    if args.rows is not None:
        from sampler._run_rows import read_rows

        with refusing("--rows: "):
            return read_rows(args.rows), args.rows.parent
    run(
        model,
        args.data,
        args.certify_out,
        config=cfg,
        oracle=oracle,
        oracle_name=args.oracle,
        prompt=args.prompt,
        progress=not args.quiet,
        model_name=args.model,
    )
    from sampler._run_rows import read_rows

    return read_rows(args.certify_out), args.certify_out.parent


def _run_attack(args: argparse.Namespace) -> int:
    # an interrupt may come while --data is certified: both files keep their rows
    out = args.out if args.data is None else f"{args.certify_out} and {args.out}"
    return run_command(PROG, _attack, args, out=out)


def _attack(args: argparse.Namespace) -> int:
    _check(args)
    config = _config(args)
    certify = _certify_config(args)
    model, oracle = _load(args)
    from sampler._attack_report import (
        certified_curve,
        format_table,
        plot_curve,
        robust_curve,
        summarize,
    )
    from sampler._attack_run import attack_campaign, certified_rows, read_attack_rows

    with refusing():
        rows, root = _certify_rows(args, model, oracle, certify)
    certified = certified_rows(rows)
    if args.limit is not None:
        certified = certified[: args.limit]
    with refusing():
        done = attack_campaign(
            model,
            certified,
            args.out,
            config=config,
            oracle=oracle,
            image_root=root,
            progress=False if args.quiet else None,
        )
    attack_rows = read_attack_rows(args.out)
    print(format_table(summarize(attack_rows) + summarize(attack_rows, per="input")))
    print(json.dumps({"out": str(args.out), **done._asdict()}))
    if args.plot is not None and config.eps:
        population, attacked = _curve_rows(rows, attack_rows, certified, limited=args.limit)
        points = robust_curve(attacked, population)
        curve = certified_curve(population)
        plot_curve(points, args.plot, title=str(args.model), certified=curve)
    return rows_exit(errors=_error_attacks(attack_rows, certified))


def _error_attacks(attack_rows, certified) -> int:
    """The attacks of the inputs ``certified`` (this command's) whose row in the file is an
    error row: those written now and those a rerun skipped."""
    ids = {str(r["id"]) for r in certified}
    return sum(r.get("status") == "error" and str(r.get("id")) in ids for r in attack_rows)


def _curve_rows(rows, attack_rows, certified, *, limited):
    """The certify rows and attack rows of the robust accuracy curve: all of them, or with
    ``--limit`` the certify rows up to the last input attacked (file order, so the inputs
    that abstained among them stay in the population) and the attack rows of the inputs
    attacked, so that both accuracies are over the same inputs (an input left out by
    ``--limit`` is not an input that the attack broke)."""
    if limited is None or not certified:
        return rows, attack_rows
    ids = {str(r["id"]) for r in certified}
    last = str(certified[-1]["id"])
    end = max(i for i, r in enumerate(rows) if str(r.get("id")) == last)
    return rows[: end + 1], [r for r in attack_rows if str(r.get("id")) in ids]
