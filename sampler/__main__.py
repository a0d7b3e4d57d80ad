"""``python -m sampler``: command-line entry of the measurement side.

Subcommands (each registered by one ``_add_<name>`` or ``add_<name>`` function in
``_SUBCOMMANDS``)::

    python -m sampler build-tiny DIR [--version 1.5|1.6] [--seed S]
    python -m sampler collect --model DIR_OR_ID --data PATH --out FILE --n N --n0 N0 \
        --sigma S --oracle NAME --seed SEED [options]
    python -m sampler collect ... --backend ray [--address ADDR] [--workers N] \
        [--max-in-flight M]
    python -m sampler predict --model DIR_OR_ID --image PATH [--prompt TEXT] --n N \
        --sigma S --alpha A --oracle NAME --seed SEED [--json]
    python -m sampler attack --model DIR_OR_ID --out FILE (--rows FILE | --data PATH) \
        [--eps E,E | --radius-multiples M,M] [--against base,smoothed] [--plot PATH]

``collect`` lives in :mod:`sampler._cli_collect` (its parser in
:mod:`sampler._cli_collect_parser`). ``--backend ray`` spreads the inputs
over Ray workers (:func:`sampler.run.run_ray`), each loading the model once; the rows and
the configuration hash are those of the local backend, so a campaign started with one
backend can be resumed with the other. ``collect`` checks every argument and path before
it loads the model (``--data`` not empty, ``--model`` a directory or a hub id of the local
cache, ``--out`` and ``--parquet`` writable, the output's lock free, ``--oracle-eps`` in
range for the oracle's classes), so a mistake is a one-line error within a second.

Exit codes of ``collect`` (also in ``collect --help``)::

    0    every input has an ok row (also a resume with nothing left to do, which says
         "nothing to do: all N inputs already have rows" on stderr)
    1    an unexpected error (a bug: a traceback)
    2    bad arguments or files (``python -m sampler collect: error: --OPTION: ...``);
         nothing run
    3    partial failure: some inputs have error rows; stderr says how many, the most
         common error, and that --retry-errors runs them again
    4    every input this run certified failed: nothing produced (the same line)
    130  interrupted (the rows written so far are kept: run the same command again to
         resume)

``predict`` (:mod:`sampler._cli_predict`) answers for one image with Cohen et al.'s
PREDICT (:func:`sampler.predict.predict`), or abstains; it exits 0, or 2 on bad arguments
or files (checked before torch is imported).

``attack`` (:mod:`sampler._cli_attack`) runs L2 PGD against the base and the smoothed
model on certified inputs (:mod:`sampler.attack`), one resumable row per (input, budget,
target); its exit codes are 0, 2 and 3 as for ``collect``.

``build-tiny`` exits 0, or 2 on bad arguments. The parser is built inside :func:`main`, so
importing this module does nothing.
"""

from __future__ import annotations

import argparse
import json
import sys

from sampler._cli_attack import add_attack
from sampler._cli_collect_parser import add_collect
from sampler._cli_predict import add_predict
from sampler._extras import extra_hint


def _run_build_tiny(args: argparse.Namespace) -> int:
    from sampler._tiny import build_tiny_llava

    path = build_tiny_llava(args.dir, version=args.version, seed=args.seed)
    print(json.dumps({"path": str(path), "version": args.version, "seed": args.seed}))
    return 0


def _add_build_tiny(sub) -> None:
    p = sub.add_parser(
        "build-tiny",
        help="write a tiny random LLaVA (model, tokenizer, processor) for offline tests",
        description="Build a tiny, randomly initialised LLaVA 1.5 or 1.6 from the real "
        "transformers config classes and save it (safetensors) with save_pretrained; load it "
        "with sampler.models.VLM.from_pretrained(DIR).",
    )
    p.add_argument("dir", metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--version", choices=("1.5", "1.6"), default="1.5", help="LLaVA version")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.set_defaults(run=_run_build_tiny)


def _run_build_trained(args: argparse.Namespace) -> int:
    import shutil

    from sampler._train_tiny import trained_llava

    path = trained_llava(seed=args.seed)
    shutil.copytree(path, args.dir, dirs_exist_ok=True)
    print(json.dumps({"path": str(args.dir), "cache": str(path), "seed": args.seed}))
    return 0


def _add_build_trained(sub) -> None:
    p = sub.add_parser(
        "build-trained",
        help="write the small LLaVA trained on the toy task (sampler.tiny.trained_llava)",
        description="Train (once per machine, cached) the toy-task LLaVA 1.5 and copy it to DIR.",
    )
    p.add_argument("dir", metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.set_defaults(run=_run_build_trained)


# One function per subcommand; each adds its parser and sets `run`.
_SUBCOMMANDS = (_add_build_tiny, _add_build_trained, add_collect, add_predict, add_attack)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sampler",
        description="Measurement side of randomized smoothing for vision-language models.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ModuleNotFoundError as err:
        hint = extra_hint(err, what=f"python -m sampler {args.command}")
        if hint is None:
            raise
        print(f"python -m sampler {args.command}: error: {hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
