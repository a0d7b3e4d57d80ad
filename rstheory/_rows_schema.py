"""The row schema (:func:`check_row`), and the rows of the sequential rule: their own
fields and why they are not fixed-``n`` pilot counts. :mod:`rstheory._rows` reads the
rows and states the schema of every row; the fields of a sequential row follow.

A campaign run with a sequential rule (``python -m sampler collect --sequential``) writes
one row per input holding where the input stopped: ``stop_reason`` (``"certified"``,
``"futility"`` or ``"n_max"``), ``certified``, ``p_lower`` and ``p_upper`` (the
anytime-valid confidence sequence at the stop), ``radius``, ``samples`` (``n0 + n``),
``looks``, and ``k`` and ``n`` at the stop. A row is *sequential* when it has a
``stop_reason`` field or its ``config`` holds a non-null ``sequential`` rule.

**Schema of a sequential row** (:func:`check_sequential_row`, called by :func:`check_row`
on an ok sequential row): ``stop_reason`` one of :data:`STOP_REASONS`; ``certified`` a JSON
boolean equal to ``stop_reason == "certified"``; ``n0`` and ``samples`` JSON integers with
``n0 >= 1`` and ``samples = n0 + n``; ``looks`` a JSON integer ``>= 1``; ``p_lower`` and
``p_upper`` numbers with ``0 <= p_lower <= p_upper <= 1``; ``radius`` a finite number
``>= 0``. A row of a run whose ``config`` holds a sequential rule must have a
``stop_reason`` field.

**Why they are refused as pilot counts** (:func:`refuse`). The stop is data-dependent:
``k / n`` at a stop is not an unbiased estimate of ``p_A`` (the rule stops early exactly
when the first looks were extreme), and ``k`` is binomial only for a fixed ``n``. So the
readers of counts refuse sequential rows by default (``stopping="fixed"``).

**The likelihood of a stop** (``stopping="likelihood"``). For a rule that decides to stop
from the counts ``(k_j, n_j)`` at its looks alone (the sequential rule's boundaries), the
probability that an input with top-class probability ``p`` stops at ``(k, n)`` is

    P(stop at (k, n) | p) = c(k, n) p^k (1 - p)^(n - k),

where ``c(k, n)`` counts the paths of votes that reach ``(k, n)`` without stopping before:
it depends on the boundaries, not on ``p``. The likelihood of a stop in ``p`` is therefore
proportional to that of a fixed-``n`` binomial count, and so is its integral against any
model of Pr(p_A) (for a beta part ``c(k, n) B(k + a, n - k + b) / B(a, b)``; for the atoms
at 0 and 1, ``c(0, n) = c(n, n) = 1`` as for ``C(n, 0) = C(n, n) = 1``). Per input the
log-likelihood of :func:`rstheory.distributions.fit` differs from the stop's by the
constant ``log c(k, n) - log C(n, k)``, so its maximizer is the maximum-likelihood fit of
the stops: the likelihood principle, and its corollary the stopping rule principle (Berger &
Wolpert 1988, "The Likelihood Principle", the section on stopping rules), makes the fit
ignore optional stopping. Its
``log_likelihood`` is that of fixed-``n`` counts (it holds ``C(n, k)``, not ``c(k, n)``).
The inputs' stops are independent draws of a proper distribution on stops (every path
stops by ``n_max``), so the maximum-likelihood estimate is consistent as the number of
inputs grows. A plug-in law of ``k / n`` (``Empirical.from_counts``, ``rstheory plan
--dist empirical:``) has no such reading and stays biased: the plan command refuses it
for sequential rows whatever ``--stopping`` says.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

from rstheory._validation import MAX_COUNT

__all__ = [
    "STOPPING",
    "STOP_REASONS",
    "Stopping",
    "check_pair",
    "check_row",
    "check_sequential_row",
    "check_stopping",
    "is_sequential",
    "refuse",
]

STOP_REASONS = ("certified", "futility", "n_max")

Stopping = Literal["fixed", "likelihood"]
"""The ``stopping=`` of the count readers: ``"fixed"`` (the counts are fixed-``n`` pilot
counts; sequential rows are refused) or ``"likelihood"`` (sequential rows are read as
their stops, for a likelihood fit; module docstring)."""

STOPPING: tuple[Stopping, ...] = get_args(Stopping)


def check_stopping(stopping) -> Stopping:
    """``stopping`` if it is one of :data:`STOPPING`, else ValueError naming it."""
    if not isinstance(stopping, str) or stopping not in STOPPING:
        raise ValueError(
            f"stopping must be one of {', '.join(map(repr, STOPPING))}, got {stopping!r}"
        )
    return stopping


def _config_rule(row: dict[str, Any]):
    config = row.get("config")
    return config.get("sequential") if isinstance(config, dict) else None


def is_sequential(row: dict[str, Any]) -> bool:
    """Whether ``row`` is a row of the sequential rule (module docstring)."""
    return "stop_reason" in row or _config_rule(row) is not None


def _integer(row, name, where, *, low) -> int:
    value = row.get(name)
    if type(value) is not int or value < low:
        raise ValueError(
            f"{where}: field {name!r} must be a JSON integer >= {low} in a row of the "
            f"sequential rule, got {value!r}"
        )
    return value


def _number(row, name, where, *, low, high) -> float:
    value = row.get(name)
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        shown = "[0, inf)" if high == math.inf else f"[{low}, {high}]"
        raise ValueError(
            f"{where}: field {name!r} must be a number in {shown} in a row of the sequential "
            f"rule, got {value!r}"
        )
    return float(value)


def check_sequential_row(row: dict[str, Any], *, where: str) -> None:
    """Check the stop fields of an ok row of the sequential rule (module docstring).

    ``k`` and ``n`` are checked by :func:`rstheory.rows.check_row` first.

    Raises:
      ValueError: ``"{where}: field 'NAME' ..."``, the first field that breaks the schema.

    Example:
      >>> row = {"stop_reason": "certified", "certified": True, "k": 60, "n": 64, "n0": 10,
      ...        "samples": 74, "looks": 2, "p_lower": 0.8, "p_upper": 0.99, "radius": 0.2}
      >>> check_sequential_row(row, where="rows.jsonl:1")
      >>> check_sequential_row({**row, "samples": 64}, where="rows.jsonl:2")
      Traceback (most recent call last):
      ...
      ValueError: rows.jsonl:2: field 'samples' must be n0 + n = 74, got 64
    """
    if "stop_reason" not in row:
        raise ValueError(
            f"{where}: field 'stop_reason' is missing: a row of a configuration with a "
            "sequential rule (config.sequential) records its stop"
        )
    reason = row.get("stop_reason")
    if type(reason) is not str or reason not in STOP_REASONS:
        allowed = ", ".join(f'"{r}"' for r in STOP_REASONS)
        raise ValueError(f"{where}: field 'stop_reason' must be one of {allowed}, got {reason!r}")
    certified = row.get("certified")
    if type(certified) is not bool or certified != (reason == "certified"):
        raise ValueError(
            f"{where}: field 'certified' must be {str(reason == 'certified').lower()} "
            f"(stop_reason {reason!r}), got {certified!r}"
        )
    n0 = _integer(row, "n0", where, low=1)
    samples = _integer(row, "samples", where, low=1)
    if samples != n0 + row["n"]:
        raise ValueError(
            f"{where}: field 'samples' must be n0 + n = {n0 + row['n']}, got {samples}"
        )
    _integer(row, "looks", where, low=1)
    low = _number(row, "p_lower", where, low=0.0, high=1.0)
    high = _number(row, "p_upper", where, low=0.0, high=1.0)
    if low > high:
        raise ValueError(f"{where}: field 'p_upper' must be >= p_lower = {low!r}, got {high!r}")
    _number(row, "radius", where, low=0.0, high=math.inf)


def refuse(where: str, row: dict[str, Any]) -> ValueError:
    """The error of a reader of fixed-``n`` pilot counts given a sequential row."""
    return ValueError(
        f"{where}: a row of the sequential rule (stop_reason {row.get('stop_reason')!r}): "
        "k/n at a data-dependent stop is not an unbiased pilot of p_A; to fit Pr(p_A) by "
        "the likelihood of the stops (which does not depend on the stopping rule) pass "
        "stopping='likelihood' (rstheory plan --dist fit:FILE --stopping likelihood; a "
        "plug-in law of k/n, --dist empirical:, stays biased)"
    )


def _count(row: dict[str, Any], name: str, where: str) -> int:
    if name not in row:
        raise ValueError(f"{where}: field {name!r} is missing; an ok row needs integer k and n")
    value = row[name]
    if type(value) is not int:  # bool is a subclass of int; 95.0 and "90" are not counts
        raise ValueError(
            f"{where}: field {name!r} must be a JSON integer, got {value!r} (counts are not "
            "coerced; an ok row needs integer k and n)"
        )
    return value


def check_pair(k: int, n: int, where: str) -> None:
    if not 1 <= n <= MAX_COUNT:
        raise ValueError(
            f"{where}: field 'n' must be an integer in [1, 2**53 - 1] = [1, {MAX_COUNT}], got {n}"
        )
    if not 0 <= k <= n:
        raise ValueError(f"{where}: field 'k' must be an integer in [0, n] = [0, {n}], got {k}")


def _check_text(row: dict[str, Any], name: str, where: str, *, optional: bool) -> None:
    value = row.get(name)
    if (value is None and optional) or (isinstance(value, str) and value):
        return
    allowed = "a non-empty string" + (" or null" if optional else "")
    raise ValueError(f"{where}: field {name!r} must be {allowed}, got {value!r}")


def check_row(row: dict[str, Any], *, where: str, run: bool = True) -> None:
    """Check one row against the schema of the module docstring; ``where`` starts the message.

    Every row: ``status``, when present, is ``"ok"`` or ``"error"`` (a row without one counts
    as ``"ok"``), and an ok row holds JSON-integer counts with ``n >= 1`` and
    ``0 <= k <= n <= 2**53 - 1``. A row of a run (``run=True``) also has non-empty string
    ``id`` and ``config_hash``, a ``prompt`` that is a string or null, and an ``error`` that
    is an object or null; in other rows ``config_hash`` is a non-empty string or null.
    An ok row of the sequential rule also has its stop fields
    (:func:`check_sequential_row`).

    Raises:
      ValueError: ``"{where}: field 'NAME' ..."``, the first field that breaks the schema.

    Example:
      >>> check_row({"id": "a", "config_hash": "h", "status": "ok", "k": 9, "n": 10},
      ...           where="rows.jsonl:1")
      >>> check_row({"id": "a", "config_hash": "h", "status": 5}, where="rows.jsonl:2")
      Traceback (most recent call last):
      ...
      ValueError: rows.jsonl:2: field 'status' must be "ok" or "error", got 5
    """
    status = row.get("status", "ok")
    if status not in ("ok", "error") or type(status) is not str:
        raise ValueError(f'{where}: field \'status\' must be "ok" or "error", got {status!r}')
    if run:
        _check_text(row, "id", where, optional=False)
    _check_text(row, "config_hash", where, optional=not run)
    if run:
        prompt = row.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise ValueError(f"{where}: field 'prompt' must be a string or null, got {prompt!r}")
    if status == "ok":
        check_pair(_count(row, "k", where), _count(row, "n", where), where)
        if is_sequential(row):
            check_sequential_row(row, where=where)
    elif run and not (row.get("error") is None or isinstance(row["error"], dict)):
        raise ValueError(f"{where}: field 'error' must be an object or null, got {row['error']!r}")
