"""The registry of checked theorems and the machinery shared by the checks.

A :class:`Theorem` pairs a statement in words and its source with up to two checks:
``symbolic()`` (a sympy derivation) and ``numeric(dps)`` (rstheory's float64 numbers
against mpmath at ``dps`` digits). Each check returns a :class:`CheckResult`.
Theorem modules register their entries at import with the :func:`theorem` decorator on
the numeric check (or :func:`register` for a :class:`Theorem` built by hand);
:func:`run_all` runs every check and turns an exception inside a check into a failed result.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable

import mpmath

from rstheory._deprecation import keyword_only

__all__ = [
    "CheckResult",
    "Report",
    "Theorem",
    "combine",
    "max_relative_error",
    "max_scaled_error",
    "register",
    "run",
    "run_all",
    "simplifies_to_zero",
    "symbolic_result",
    "theorem",
    "theorems",
]


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes:
      passed: whether the check holds.
      max_error: largest error found (relative unless ``detail`` says otherwise); ``nan``
        for a symbolic check, ``inf`` when a value that must be exact is not.
      tolerance: the bound ``max_error`` is compared with (``nan`` for symbolic checks).
      detail: one line: what was compared, and the worst case.
    """

    passed: bool
    max_error: float = math.nan
    tolerance: float = math.nan
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Theorem:
    """A theorem that rstheory relies on, with its checks.

    Attributes:
      name: unique identifier, ``family.short_name``.
      statement: the claim in plain words.
      source: where it is proved (paper, theorem number).
      symbolic: ``() -> CheckResult`` running a sympy derivation, or ``None``.
      numeric: ``(dps) -> CheckResult`` comparing rstheory with mpmath at ``dps`` digits,
        or ``None``.
    """

    name: str
    statement: str
    source: str
    symbolic: Callable[[], CheckResult] | None = None
    numeric: Callable[[int], CheckResult] | None = None


_THEOREMS: dict[str, Theorem] = {}


def _key(theorem: Theorem) -> tuple:
    """What makes two registrations one theorem: its text and where its checks are defined
    (file, first line and qualified name, so two lambdas of one function differ)."""

    def where(f):
        if f is None:
            return None
        code = getattr(f, "__code__", None)
        line = getattr(code, "co_firstlineno", None)
        return f.__qualname__, getattr(code, "co_filename", None), line

    return (
        theorem.name,
        theorem.statement,
        theorem.source,
        where(theorem.symbolic),
        where(theorem.numeric),
    )


def register(theorem: Theorem) -> Theorem:
    """Add ``theorem`` to the registry and return it; names are unique.

    Registering the same theorem again is a no-op: the identical object, or one from the
    same source file imported a second time as another module object (pytest's
    ``--import-mode=importlib`` does that when it collects a module's doctests), whose
    checks are new function objects with the same file, first line and qualified name.
    """
    old = _THEOREMS.get(theorem.name)
    if old is not None:
        if old != theorem and _key(old) != _key(theorem):
            raise ValueError(f"a different theorem is already registered as {theorem.name!r}")
        return theorem  # the first registration stays
    _THEOREMS[theorem.name] = theorem
    return theorem


def theorem(
    name: str,
    *,
    statement: str,
    source: str,
    symbolic: Callable[[], CheckResult] | None = None,
) -> Callable[[Callable[[int], CheckResult]], Callable[[int], CheckResult]]:
    """Decorator: register the decorated function as the numeric check of theorem ``name``.

    The decorated function is returned unchanged (its callers and doctests see the plain
    function); the entry is added to the registry when the decorator runs, so entries are
    listed in the order their numeric checks are defined. Names are unique, as in
    :func:`register`.

    Args:
      name: unique identifier, ``family.short_name``.
      statement: the claim in plain words.
      source: where it is proved (paper, theorem number).
      symbolic: the theorem's ``() -> CheckResult`` sympy derivation, if it has one.

    Example:
      >>> @theorem("example.truth", statement="1 + 1 = 2", source="arithmetic")
      ... def check_truth(dps: int = 50) -> CheckResult:
      ...     return CheckResult(1 + 1 == 2, 0.0, 0.0, "1 + 1 = 2")
      >>> run(_THEOREMS.pop("example.truth")).passed  # (removed again from the registry)
      True
    """

    def decorate(numeric: Callable[[int], CheckResult]) -> Callable[[int], CheckResult]:
        register(Theorem(name, statement, source, symbolic=symbolic, numeric=numeric))
        return numeric

    return decorate


def theorems() -> tuple[Theorem, ...]:
    """All registered theorems, in registration order."""
    return tuple(_THEOREMS.values())


@keyword_only("tolerance")
def max_relative_error(
    cases: Iterable[tuple[str, float, mpmath.mpf]], *, tolerance: float, what: str
) -> CheckResult:
    """Compare float64 values with high-precision references.

    Args:
      cases: ``(label, value, reference)`` triples; ``reference`` an mpmath number
        (or exact 0, which demands ``value == 0``).
      tolerance: largest acceptable relative error.
      what: short description for the result's ``detail``.

    Returns:
      :class:`CheckResult` with the largest relative error and its case.

    Example:
      >>> import mpmath
      >>> r = max_relative_error([("x", 0.1, mpmath.mpf(1) / 10)], tolerance=1e-15, what="0.1")
      >>> r.passed, r.max_error < 1e-16
      (True, True)
    """
    worst, worst_label, count = 0.0, "", 0
    for label, value, reference in cases:
        count += 1
        value = float(value)
        if reference == 0 or not math.isfinite(value):
            err = 0.0 if value == reference else math.inf
        else:
            err = float(abs((mpmath.mpf(value) - reference) / reference))
        if not err <= worst:  # also catches NaN
            worst, worst_label = (math.inf if math.isnan(err) else err), label
    passed = worst <= tolerance
    detail = f"{what}: {count} cases, worst {worst:.2e} at {worst_label}" if count else what
    return CheckResult(passed, worst, tolerance, detail)


@keyword_only("tolerance")
def max_scaled_error(cases, *, tolerance: float, what: str) -> CheckResult:
    """Largest ``|value - reference| / scale`` over ``(label, value, reference, scale)``.

    ``scale`` is the size the error is measured against (a condition-number scale where a
    plain relative error would punish cancellation the formula cannot avoid). ``scale == 0``
    demands ``value == reference``; NaN counts as an infinite error.
    """
    worst, worst_label, count = 0.0, "", 0
    for label, value, reference, scale in cases:
        count += 1
        value = float(value)
        if not math.isfinite(value):
            err = math.inf
        elif scale == 0:
            err = 0.0 if value == reference else math.inf
        else:
            err = float(abs(mpmath.mpf(value) - reference) / scale)
        if not err <= worst:
            worst, worst_label = (math.inf if math.isnan(err) else err), label
    detail = f"{what}: {count} cases, worst {worst:.2e} at {worst_label}"
    return CheckResult(worst <= tolerance, worst, tolerance, detail)


@keyword_only("tolerance")
def combine(parts: list[CheckResult], *, tolerance: float) -> CheckResult:
    """One result for several checks: passes when all pass, with the worst error."""
    worst = max(r.max_error for r in parts)
    return CheckResult(
        all(r.passed for r in parts), worst, tolerance, "; ".join(r.detail for r in parts)
    )


def symbolic_result(steps: list[tuple[str, bool]]) -> CheckResult:
    """A symbolic check's result from its ``(statement, holds)`` steps."""
    failed = [label for label, ok in steps if not ok]
    if failed:
        return CheckResult(False, detail="does not hold: " + "; ".join(failed))
    return CheckResult(True, detail="; ".join(label for label, _ in steps))


def simplifies_to_zero(expr) -> bool:
    """Whether sympy simplifies ``expr`` to 0."""
    import sympy

    return sympy.simplify(expr) == 0


@dataclasses.dataclass(frozen=True)
class Report:
    """One theorem's results, as printed by ``python -m proofs_check``."""

    theorem: Theorem
    symbolic: CheckResult | None
    numeric: CheckResult | None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in (self.symbolic, self.numeric) if r is not None)


def _guarded(check: Callable[..., CheckResult] | None, *args) -> CheckResult | None:
    if check is None:
        return None
    try:
        result = check(*args)
    except Exception as err:  # a crashing check is a failed check, reported with its cause
        return CheckResult(False, math.inf, math.nan, f"raised {type(err).__name__}: {err}")
    if not isinstance(result, CheckResult):
        return CheckResult(False, math.inf, math.nan, f"returned {type(result).__name__}")
    return result


def run(theorem: Theorem, *, dps: int = 50) -> Report:
    """Run both checks of one theorem; exceptions become failed results."""
    return Report(theorem, _guarded(theorem.symbolic), _guarded(theorem.numeric, dps))


def run_all(*, dps: int = 50, names: Iterable[str] | None = None) -> list[Report]:
    """Run the checks of every registered theorem (or of those in ``names``)."""
    selected = theorems()
    if names is not None:
        wanted = set(names)
        unknown = wanted - {t.name for t in selected}
        if unknown:
            raise ValueError(
                f"unknown theorem(s): {sorted(unknown)}; known: {[t.name for t in selected]}"
            )
        selected = tuple(t for t in selected if t.name in wanted)
    return [run(t, dps=dps) for t in selected]
