"""``oracle.asymmetric_counterexample``: a bound on the overall error rate of the oracle is
not enough for the symmetric correction; the sound correction with a false-positive rate."""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._oracle_common import (
    Q_GRID,
    RTOL_ORACLE,
    clip01,
    condition_scale,
    f64,
    rstheory_oracle,
    sym_fn,
    sym_fp,
    sym_half,
    sym_p,
    sym_q,
    sym_s,
    symmetric_inverse,
)
from proofs_check._registry import CheckResult, max_relative_error, theorem
from proofs_check._registry import combine as _combine
from proofs_check._registry import max_scaled_error as _max_scaled_error
from proofs_check._registry import simplifies_to_zero as _zero
from proofs_check._registry import symbolic_result as _symbolic_result

__all__ = [
    "ASYMMETRIC_GRID",
    "check_asymmetric_numeric",
    "check_asymmetric_symbolic",
]

# (p, false-positive rates, false-negative rates); the counterexample is (0.55, 0.2, 0).
ASYMMETRIC_GRID = (
    (0.0, 1e-12, 0.3, 0.55, 0.9, 1.0),
    (0.0, 1e-12, 0.05, 0.2, 0.49),
    (0.0, 1e-9, 0.1, 0.3),
)


def _default_sound_bound(q, fp):
    return (q - fp) / (1 - fp)


def _asym_observed(p, fp, fn):
    return p * (1 - fn) + (1 - p) * fp


def check_asymmetric_symbolic(sound_bound: Callable | None = None) -> CheckResult:
    """The counterexample in exact rationals, and the sound correction (sympy).

    With class-conditional rates, ``q = p(1 - FN) + (1 - p) FP``. At ``p = 11/20``,
    ``FP = 1/5``, ``FN = 0``: ``q = 16/25 > p`` at overall error ``9/100 < 1/2``, and the
    symmetric correction with ``eps = 9/100`` gives ``55/82 > p``. The sound bound
    ``(q - FP)/(1 - FP)`` minus ``p`` is ``-p FN/(1 - FP) <= 0`` (``FP = 1 - s``, ``s > 0``);
    it increases in ``q`` and decreases in ``FP``, so a lower bound on ``q`` and an upper
    bound on ``FP`` keep it a lower bound. With both rates known the inverse is exact.

    Args:
      sound_bound: optional replacement ``(q, FP) -> sympy expression``.
    """
    bound = sound_bound or _default_sound_bound
    q = _asym_observed(sym_p, sym_fp, sym_fn)
    r = sp.Rational
    ce = {sym_p: r(11, 20), sym_fp: r(1, 5), sym_fn: 0}
    q_ce = q.subs(ce)
    error_ce = ((1 - sym_p) * sym_fp + sym_p * sym_fn).subs(ce)
    below_one = {sym_fp: 1 - sym_s}
    gap = sp.simplify(bound(q, sym_fp) - sym_p)
    r_q = sp.Symbol("r", nonnegative=True)  # q = 1 - r <= 1
    steps = [
        ("counterexample: q = 0.64", q_ce == r(16, 25)),
        ("overall error 0.09 < 1/2", error_ce == r(9, 100) and error_ce < sym_half),
        ("q > p", q_ce > ce[sym_p]),
        (
            "symmetric correction with eps = 0.09 gives 55/82 > p",
            _zero(symmetric_inverse(q_ce, error_ce) - r(55, 82)) and r(55, 82) > ce[sym_p],
        ),
        ("sound bound at q = 0.64, FP = 0.2 is 0.55", _zero(bound(q_ce, ce[sym_fp]) - ce[sym_p])),
        ("(q - FP)/(1 - FP) - p = -p FN/(1 - FP)", _zero(gap + sym_p * sym_fn / (1 - sym_fp))),
        (
            "... <= 0 for FP < 1, every FN >= 0",
            sp.simplify(gap.subs(below_one)).is_nonpositive is True,
        ),
        (
            "increasing in q",
            sp.simplify(sp.diff(bound(sym_q, sym_fp), sym_q).subs(below_one)).is_positive is True,
        ),
        (
            "decreasing in FP for q <= 1",
            sp.simplify(sp.diff(bound(1 - r_q, sym_fp), sym_fp).subs(below_one)).is_nonpositive
            is True,
        ),
        (
            "both rates known: (q - FP)/(1 - FN - FP) = p",
            _zero((q - sym_fp) / (1 - sym_fn - sym_fp) - sym_p),
        ),
    ]
    return _symbolic_result(steps)


def _asym_lower_mp(q, fp, fn=None):
    q, fp = mpmath.mpf(q), mpmath.mpf(fp)
    fn = mpmath.mpf(0) if fn is None else mpmath.mpf(fn)
    return (q - fp) / (1 - fn - fp)


@theorem(
    "oracle.asymmetric_counterexample",
    statement="A bound on the overall oracle error is not enough: true p = 0.55, "
    "false-positive rate 0.2, false-negative rate 0 give q = 0.64 > p at overall error "
    "0.09 < 1/2, so a lower bound on q is no lower bound on p. With q = p(1 - FN) + "
    "(1 - p) FP, the bound (q - FP)/(1 - FP) is <= p for every FN in [0, 1 - FP) (it equals "
    "0.55 at q = 0.64, FP = 0.2); with both rates known, (q - FP)/(1 - FN - FP) = p.",
    source="Third-party counterexample to Seferis et al. (2025) Th. 4.1-4.2; not in the paper",
    symbolic=check_asymmetric_symbolic,
)
def check_asymmetric_numeric(
    dps: int = 50,
    *,
    grid=ASYMMETRIC_GRID,
    q_grid=Q_GRID,
    rtol: float = RTOL_ORACLE,
    observed_probability_asymmetric: Callable | None = None,
    corrected_lower_bound: Callable | None = None,
) -> CheckResult:
    """The asymmetric forward map (relative error) and the clipped lower bound, with the false-
    negative rate unknown (``eps_fn=None``) and known (condition-scaled), against mpmath."""
    observed_probability_asymmetric = observed_probability_asymmetric or rstheory_oracle(
        "observed_probability_asymmetric"
    )
    corrected_lower_bound = corrected_lower_bound or rstheory_oracle("corrected_lower_bound")
    ps, fps, fns = grid
    pts = [(p, a, b) for p in ps for a in fps for b in fns]
    p, fp, fn = (f64(v) for v in zip(*pts, strict=True))
    q_got = f64(observed_probability_asymmetric(p, eps_fp=fp, eps_fn=fn))
    bound_pts = [(q, a, b) for q in q_grid for a in fps for b in (None, *fns)]
    q_b = f64([x[0] for x in bound_pts])
    fp_b = f64([x[1] for x in bound_pts])
    unknown = [x[2] is None for x in bound_pts]
    lb_unknown = f64(corrected_lower_bound(q_b[unknown], eps_fp=fp_b[unknown]))
    known = np.logical_not(unknown)
    fn_b = f64([x[2] for x in bound_pts if x[2] is not None])
    lb_known = f64(corrected_lower_bound(q_b[known], eps_fp=fp_b[known], eps_fn=fn_b))
    lb = np.empty(len(bound_pts))
    lb[np.asarray(unknown)] = lb_unknown
    lb[known] = lb_known
    with mpmath.workdps(dps):
        cases = [
            (
                f"q(p={a!r}, FP={b!r}, FN={c!r})",
                g,
                _asym_observed(*(mpmath.mpf(x) for x in (a, b, c))),
            )
            for (a, b, c), g in zip(pts, q_got, strict=True)
        ]
        forward = max_relative_error(cases, tolerance=rtol, what="asymmetric q vs mpmath, relative")
        cases = []
        for (q, a, b), g in zip(bound_pts, lb, strict=True):
            if b is None:
                ref, scale = condition_scale(lambda q_, a_: _asym_lower_mp(q_, a_), (q, a))
            else:
                ref, scale = condition_scale(_asym_lower_mp, (q, a, b))
            label = f"lower(q={q!r}, FP={a!r}, FN={b!r}) = {float(g)!r}"
            cases.append((label, g, clip01(ref), scale))
        lower = _max_scaled_error(
            cases, tolerance=rtol, what="sound lower bound vs mpmath, condition-scaled"
        )
    return _combine([forward, lower], tolerance=rtol)
