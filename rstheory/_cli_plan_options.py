"""The options of ``rstheory plan`` that need more than argparse: ``--dist`` (a model of
Pr(p_A), or pilot counts read from a file once ``--config-hash`` is known), ``--prior``,
and the settling of ``--sigma`` and ``--alpha`` against the values the rows record
(:func:`rstheory.rows.read_counts`, :func:`rstheory.rows.read_settings`)."""

from __future__ import annotations

import argparse
from typing import NamedTuple

from rstheory._cli_options import ALPHA

__all__ = [
    "SIGMA",
    "PilotCounts",
    "parse_dist",
    "parse_prior",
    "pilot_dist",
    "pilot_settings",
    "resolve_options",
]

# The noise level of a plan without --sigma and without rows that record theirs.
SIGMA = 0.5


class PilotCounts(NamedTuple):
    """``--dist fit:FILE`` or ``empirical:FILE``, read once the options are parsed (the file
    may need ``--config-hash``)."""

    kind: str
    path: str
    text: str


def parse_dist(text: str):
    """``point:P``, ``uniform:LOW[,HIGH]``, ``beta:A,B[,LOW,HIGH]`` -> a law of
    :mod:`rstheory._plan_laws` (JAX-free; ``.model()`` gives the model of
    :mod:`rstheory.distributions`); ``fit:FILE`` or ``empirical:FILE`` ->
    :class:`PilotCounts` (see :func:`pilot_dist`)."""
    from rstheory._plan_laws import law_of

    kind, _, params = text.partition(":")
    if kind in ("fit", "empirical"):
        return PilotCounts(kind, params, text)
    try:
        return law_of(kind, [float(v) for v in params.split(",") if v])
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
