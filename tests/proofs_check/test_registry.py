"""The registry and report machinery of proofs_check: failures must be reported as failures."""

import json
import math

import mpmath
import pytest

import proofs_check
from proofs_check import __main__ as cli
from proofs_check import _registry
from tests.tolerances import ATOL_ONE_ROUNDING, RTOL_REPORTED_ERROR_DIGITS


@pytest.fixture
def isolated_registry(monkeypatch):
    """A copy of the registry that the test may add to; restored afterwards."""
    monkeypatch.setattr(_registry, "_THEOREMS", dict(_registry._THEOREMS))
    return _registry._THEOREMS


def _theorem(name, symbolic=None, numeric=None):
    return proofs_check.Theorem(name, "a statement", "a source", symbolic, numeric)


def test_every_theorem_module_registers_its_theorems():
    names = {t.name for t in proofs_check.theorems()}
    assert {
        "clopper_pearson.tail_inversion",
        "clopper_pearson.end_values",
        "radius.cohen2019_thm1",
    } <= names
    for t in proofs_check.theorems():
        assert t.statement and t.source
        assert t.symbolic is not None or t.numeric is not None


def test_register_rejects_a_different_theorem_under_a_taken_name(isolated_registry):
    t = proofs_check.register(_theorem("test.dup"))
    assert proofs_check.register(t) is t  # same object again: no-op
    with pytest.raises(ValueError, match="already registered"):
        proofs_check.register(_theorem("test.dup", symbolic=lambda: None))


def test_register_rejects_another_check_of_the_same_text_and_qualified_name(isolated_registry):
    # Two lambdas of one function share file and qualified name; their lines differ.
    checks = [
        lambda: None,
        lambda: None,
    ]
    assert checks[0].__qualname__ == checks[1].__qualname__
    proofs_check.register(_theorem("test.twin", symbolic=checks[0]))
    assert proofs_check.register(_theorem("test.twin", symbolic=checks[0])) is not None
    with pytest.raises(ValueError, match="already registered"):
        proofs_check.register(_theorem("test.twin", symbolic=checks[1]))


def test_a_theorem_module_imported_twice_registers_once():
    # pytest's --import-mode=importlib imports a module a second time as another module
    # object when it collects its doctests: the same theorems, new function objects.
    import importlib.util
    import pathlib

    path = pathlib.Path(proofs_check.__file__).parent / "thm_bounds.py"
    before = {t.name: t for t in proofs_check.theorems()}
    spec = importlib.util.spec_from_file_location("thm_bounds_imported_again", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    after = {t.name: t for t in proofs_check.theorems()}
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)  # the first registration stays


def test_theorem_decorator_registers_the_numeric_check_and_returns_it(isolated_registry):
    def symbolic():
        return proofs_check.CheckResult(True, detail="holds")

    def numeric(dps):
        return proofs_check.CheckResult(True, 0.0, 0.0, "holds")

    decorated = proofs_check.theorem(
        "test.decorated", statement="a statement", source="a source", symbolic=symbolic
    )(numeric)
    assert decorated is numeric
    (entry,) = [t for t in proofs_check.theorems() if t.name == "test.decorated"]
    assert entry == proofs_check.Theorem(
        "test.decorated", "a statement", "a source", symbolic, numeric
    )
    assert proofs_check.run(entry).passed


def test_theorem_decorator_refuses_a_taken_name(isolated_registry):
    @proofs_check.theorem("test.dup_decorated", statement="a statement", source="a source")
    def first(dps):
        return proofs_check.CheckResult(True)

    with pytest.raises(ValueError, match="already registered"):

        @proofs_check.theorem("test.dup_decorated", statement="a statement", source="a source")
        def second(dps):
            return proofs_check.CheckResult(True)

    with pytest.raises(ValueError, match="already registered"):  # a hand-built entry too
        proofs_check.register(_theorem("test.dup_decorated", numeric=lambda dps: None))
    (entry,) = [t for t in proofs_check.theorems() if t.name == "test.dup_decorated"]
    assert entry.numeric is first


def test_max_relative_error_flags_wrong_values_nan_and_inexact_zero():
    with mpmath.workdps(30):
        third = mpmath.mpf(1) / 3
        ok = proofs_check.max_relative_error([("a", 1 / 3, third)], tolerance=1e-15, what="x")
        off = proofs_check.max_relative_error([("b", 0.3333, third)], tolerance=1e-15, what="x")
        nan = proofs_check.max_relative_error([("c", math.nan, third)], tolerance=1e-15, what="x")
        zero = proofs_check.max_relative_error(
            [("d", 1e-300, mpmath.mpf(0))], tolerance=1e-15, what="x"
        )
    assert ok.passed and ok.max_error < ATOL_ONE_ROUNDING
    assert not off.passed and off.max_error == pytest.approx(1e-4, rel=RTOL_REPORTED_ERROR_DIGITS)
    assert "b" in off.detail
    assert not nan.passed and nan.max_error == math.inf
    assert not zero.passed


def test_run_turns_a_crashing_check_into_a_failure():
    def boom(dps):
        raise ZeroDivisionError("deliberate")

    report = proofs_check.run(_theorem("test.crash", numeric=boom))
    assert not report.passed
    assert report.symbolic is None
    assert "ZeroDivisionError: deliberate" in report.numeric.detail


def test_run_all_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown theorem"):
        proofs_check.run_all(names=["no.such.theorem"])


def test_cli_exits_nonzero_and_reports_the_failing_check(isolated_registry, capsys):
    proofs_check.register(
        _theorem(
            "test.false_claim",
            symbolic=lambda: proofs_check.CheckResult(False, detail="1 + 1 != 3"),
        )
    )
    assert cli.main(["--only", "test.false_claim"]) == 1
    out = capsys.readouterr().out
    assert "test.false_claim" in out and "FAIL" in out and "1 + 1 != 3" in out


def test_cli_json_for_a_passing_theorem(capsys):
    assert cli.main(["--json", "--only", "radius.cohen2019_thm1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "radius.cohen2019_thm1"
    assert row["passed"] and row["symbolic"]["passed"] and row["numeric"]["passed"]
    assert row["numeric"]["max_error"] <= row["numeric"]["tolerance"]


def test_tolerance_is_keyword_only_with_the_01_positional_form_kept():
    with mpmath.workdps(30):
        case = [("a", 1 / 3, mpmath.mpf(1) / 3)]
        new = proofs_check.max_relative_error(case, tolerance=1e-15, what="x")
        with pytest.warns(DeprecationWarning, match=r"pass tolerance as a keyword"):
            old = proofs_check.max_relative_error(case, 1e-15, what="x")
        with pytest.warns(DeprecationWarning, match=r"pass tolerance as a keyword"):
            both = proofs_check.combine([new, old], 1e-15)
    assert old == new
    assert both.passed and both.tolerance == new.tolerance
