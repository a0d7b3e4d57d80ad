"""``python -m proofs_check``: run every registered check, print a report, exit 1 on failure.

Usage::

    python -m proofs_check                 # table
    python -m proofs_check --json          # machine-readable
    python -m proofs_check --dps 80 --only radius.cohen2019_thm1
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _fmt_error(r) -> str:
    return "-" if r is None or math.isnan(r.max_error) else f"{r.max_error:.2e}"


def _fmt_tol(r) -> str:
    return "-" if r is None or math.isnan(r.tolerance) else f"{r.tolerance:.0e}"


def _status(r) -> str:
    return "-" if r is None else ("pass" if r.passed else "FAIL")


def _as_dict(report) -> dict:
    def one(r):
        if r is None:
            return None
        return {
            "passed": r.passed,
            "max_error": None if math.isnan(r.max_error) else r.max_error,
            "tolerance": None if math.isnan(r.tolerance) else r.tolerance,
            "detail": r.detail,
        }

    t = report.theorem
    return {
        "name": t.name,
        "statement": t.statement,
        "source": t.source,
        "symbolic": one(report.symbolic),
        "numeric": one(report.numeric),
        "passed": report.passed,
    }


def _print_table(reports, dps: int) -> None:
    rows = [
        (
            r.theorem.name,
            r.theorem.source.split(";")[0],
            _status(r.symbolic),
            _fmt_error(r.numeric),
            _fmt_tol(r.numeric),
            "pass" if r.passed else "FAIL",
        )
        for r in reports
    ]
    head = ("theorem", "source", "symbolic", "numeric err", "tolerance", "result")
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(f"proofs_check: {len(reports)} theorems, mpmath at {dps} digits")
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    print()
    for r in reports:
        for kind, res in (("symbolic", r.symbolic), ("numeric", r.numeric)):
            if res is not None:
                print(f"{r.theorem.name} [{kind}, {_status(res)}]: {res.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_check",
        description="Check the theorems behind rstheory symbolically (sympy) and numerically "
        "(mpmath); exit 1 when a check fails.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--dps", type=int, default=50, help="mpmath digits (default 50)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these theorems")
    args = parser.parse_args(argv)

    import proofs_check

    try:
        reports = proofs_check.run_all(dps=args.dps, names=args.only)
    except ValueError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([_as_dict(r) for r in reports], indent=2))
    else:
        _print_table(reports, args.dps)
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
