"""Command-line interface: ``rstheory demo``, ``bound``, ``plan``, ``validate`` and ``analyze``.

The parser is built inside :func:`main`, so importing this module does nothing. All numbers
come from the public :mod:`rstheory` functions; the subcommands only format them, one
module each: :mod:`rstheory._cli_counts` (``demo`` and ``bound``),
:mod:`rstheory._cli_plan` (``plan``: its parser, options, text and figure in
``_cli_plan_parser``, ``_cli_plan_options``, ``_cli_plan_print`` and ``_cli_plot``),
:mod:`rstheory._cli_validate` (``validate``) and :mod:`rstheory._cli_analyze`
(``analyze``); their text tables share :mod:`rstheory._cli_tables`. This module holds
the parser, the compilation cache and :func:`main`, the entry point of the ``rstheory``
command. ``bound`` loads neither JAX nor ``scipy.stats`` (its scalar path,
:mod:`rstheory._clopper_pearson_scalar`), nor does ``plan`` of a point, uniform or Beta
law without ``--sequential`` and ``--plot`` (its SciPy path, :mod:`rstheory._plan_scipy`).

Examples (shell)::

    rstheory                      # same as `rstheory demo`
    rstheory demo --sigma 0.12 0.25 0.5 1.0 --alpha 0.001
    rstheory demo --json
    rstheory bound 990 1000 --alpha 0.001
    rstheory plan --dist beta:8,2 --atom1 0.2 --target-ratio 0.9 --reference-n 100000 \
        --inputs 500 --batch-size 100 --seconds-per-batch 0.28 --plot plan.png
    rstheory plan --dist beta:8,2 --target-accuracy 0.6 --at-radius 0.25 --sequential
    rstheory plan --dist fit:rows.jsonl --config-hash HASH --target-ratio 0.9
    rstheory validate --data-dir data
    rstheory analyze data/cohen2019/certify/imagenet/resnet50/noise_*/test/sigma_* \
        --radii 0.5 1.0 1.5 2.0 2.5 3.0 --table markdown --plot imagenet.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rstheory import _cli_analyze, _cli_counts, _cli_plan, _cli_validate

__all__ = ["compilation_cache_dir", "main"]

# name -> (add its parser to the subparsers, compute the JSON-ready result, print it).
_COMMANDS = {
    "demo": (_cli_counts.add_demo, _cli_counts.compute_demo, _cli_counts.print_demo),
    "bound": (_cli_counts.add_bound, _cli_counts.compute_bound, _cli_counts.print_bound),
    "plan": (_cli_plan.add_plan, _cli_plan.compute_plan, _cli_plan.print_plan),
    "validate": (
        _cli_validate.add_validate,
        _cli_validate.compute_validate,
        _cli_validate.print_validate,
    ),
    "analyze": (
        _cli_analyze.add_analyze,
        _cli_analyze.compute_analyze,
        _cli_analyze.print_analyze,
    ),
}


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its subcommands' parsers (by name, for their error messages)."""
    parser = argparse.ArgumentParser(
        prog="rstheory",
        description="Randomized-smoothing certificates from vote counts "
        "(Clopper-Pearson bound, Cohen et al. 2019 radius).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{demo,bound,plan,validate,analyze}")
    return parser, {name: add(sub) for name, (add, _, _) in _COMMANDS.items()}


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


# JAX's options of the persistent cache, by the environment variables it reads at import.
_CACHE_OPTIONS = {
    "jax_compilation_cache_dir": None,  # the path, filled in
    # Cache every program, not only those that took over a second to compile: the many
    # small ones add up at start-up.
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": -1,
}


def _enable_compilation_cache() -> None:
    """Turn on JAX's persistent cache without importing JAX.

    JAX reads its options from ``JAX_...`` environment variables when it is imported, so
    a command that never imports JAX (``rstheory bound``) pays nothing; when JAX is
    loaded already (the command line called from Python), its config is updated instead.
    """
    path = compilation_cache_dir()
    if path is None:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: run without the cache
        return
    options = {**_CACHE_OPTIONS, "jax_compilation_cache_dir": str(path)}
    if "jax" in sys.modules:
        jax = sys.modules["jax"]
        for name, value in options.items():
            jax.config.update(name, value)
        return
    for name, value in options.items():
        os.environ.setdefault(name.upper(), str(value))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in _COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["demo", *argv]
    parser, commands = _build_parser()
    args = parser.parse_args(argv)
    _enable_compilation_cache()
    if args.command == "plan":
        _cli_plan.resolve_options(args, commands["plan"])  # exits with status 2 on a bad file
    _, compute, show = _COMMANDS[args.command]
    try:
        result = compute(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    return 0
