"""``python -m sampler``: command-line entry of the measurement side.

Subcommands (each registered by one ``_add_<name>`` function in ``_SUBCOMMANDS``; a new one,
such as ``collect``, is another such function)::

    python -m sampler build-tiny DIR [--version 1.5|1.6] [--seed S]

The parser is built inside :func:`main`, so importing this module does nothing.
"""

from __future__ import annotations

import argparse
import json
import sys


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


# One function per subcommand; each adds its parser and sets `run`.
_SUBCOMMANDS = (_add_build_tiny,)


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
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
