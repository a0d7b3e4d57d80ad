"""The exit codes of the subcommands of ``python -m sampler`` and their refusals, written
once for ``collect`` (:mod:`sampler._cli_collect`), ``predict``
(:mod:`sampler._cli_predict`) and ``attack`` (:mod:`sampler._cli_attack`).

A bad argument or file is a :class:`Refused` raised before any work; :func:`run_command`
turns it into one line ``python -m sampler <command>: error: <message>`` on stderr and
exit 2. :func:`refusing` turns the errors of a block (``ValueError`` by default) into a
refusal whose message names the option. The rows of a campaign give the other codes
(:func:`rows_exit`): 0 when no row is an error row, 3 when some are, 4 when moreover
none is ok; an interrupted campaign keeps its rows and exits 130 (:func:`interrupted`).

Example:
    >>> import argparse
    >>> def command(args):
    ...     with refusing("--n: "):
    ...         raise ValueError("must be >= 1, got 0")
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     code = run_command("python -m sampler x", command, argparse.Namespace())
    >>> code, err.getvalue()
    (2, 'python -m sampler x: error: --n: must be >= 1, got 0\\n')
    >>> rows_exit(errors=0), rows_exit(errors=2), rows_exit(errors=2, none_ok=True)
    (0, 3, 4)
"""

from __future__ import annotations

import sys

__all__ = [
    "EXIT_ERROR_ROWS",
    "EXIT_INTERRUPTED",
    "EXIT_NO_OK_ROW",
    "EXIT_OK",
    "EXIT_REFUSED",
    "Refused",
    "interrupted",
    "refuse",
    "refusing",
    "rows_exit",
    "run_command",
]

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_ERROR_ROWS = 3
EXIT_NO_OK_ROW = 4
EXIT_INTERRUPTED = 130


class Refused(Exception):
    """A bad argument or file: its one-line message; exit 2, nothing run."""


class refusing:  # a context manager, named like contextlib's
    """A block whose errors of the types ``catch`` are refusals: ``Refused(prefix + str(err))``
    raised in their place (their traceback dropped); other errors pass through."""

    def __init__(self, prefix: str = "", *, catch: tuple[type[BaseException], ...] = (ValueError,)):
        self.prefix, self.catch = prefix, catch

    def __enter__(self) -> refusing:
        return self

    def __exit__(self, kind, err, tb) -> bool:
        if err is not None and isinstance(err, self.catch):
            raise Refused(f"{self.prefix}{err}") from None
        return False


def refuse(prog: str, message: str) -> int:
    """Print ``{prog}: error: {message}`` on stderr; the exit code of a refusal (2)."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_REFUSED


def interrupted(out) -> int:
    """Say on stderr that the rows written to ``out`` are kept; the exit code 130."""
    print(
        f"interrupted: the rows written so far are kept in {out}; run the same "
        "command again to resume",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def run_command(prog: str, command, args, *, out=None) -> int:
    """``command(args)``, its exit code; a :class:`Refused` is :func:`refuse`'s line and 2,
    and with ``out`` (the command's rows) a ``KeyboardInterrupt`` is :func:`interrupted`'s
    line and 130 (without, it propagates)."""
    try:
        return command(args)
    except Refused as refused:
        return refuse(prog, str(refused))
    except KeyboardInterrupt:
        if out is None:
            raise
        return interrupted(out)


def rows_exit(*, errors: int, none_ok: bool = False) -> int:
    """The exit code of a campaign's rows: 0 without ``errors`` (error rows), else 4 when
    ``none_ok`` (no input has an ok row), else 3."""
    if not errors:
        return EXIT_OK
    return EXIT_NO_OK_ROW if none_ok else EXIT_ERROR_ROWS
