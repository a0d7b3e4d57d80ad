"""The symmetric oracle-error correction of Seferis, Wu, Kollias, Bensalem & Cheng (2025),
"Randomized Smoothing Meets Vision-Language Models", EMNLP 2025 (arXiv 2509.16088), Eq. 5
and Th. 4.1-4.2: ``oracle.symmetric_identity``, ``oracle.symmetric_inverse``,
``oracle.correction_derivative`` and ``oracle.abstain_invariance``."""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._oracle_common import (
    EPS_GRID,
    P_GRID,
    Q_GRID,
    RTOL_ORACLE,
    condition_scale,
    corrected_mp,
    exact_cases,
    f64,
    inverse_mp,
    observed_mp,
    rstheory_oracle,
    sign_is,
    sym_delta,
    sym_eps,
    sym_half,
    sym_p,
    sym_q,
    sym_t,
    symmetric_derivative,
    symmetric_inverse,
    symmetric_observed,
)
from proofs_check._registry import CheckResult, max_relative_error, theorem
from proofs_check._registry import combine as _combine
from proofs_check._registry import max_scaled_error as _max_scaled_error
from proofs_check._registry import simplifies_to_zero as _zero
from proofs_check._registry import symbolic_result as _symbolic_result

__all__ = [
    "ABSTAIN_Q_GRID",
    "check_abstain_numeric",
    "check_abstain_symbolic",
    "check_derivative_numeric",
    "check_derivative_symbolic",
    "check_identity_numeric",
    "check_identity_symbolic",
    "check_inverse_numeric",
    "check_inverse_symbolic",
]

# For the abstain decision: the float64 neighbours of 1/2 as well.
ABSTAIN_Q_GRID = (
    0.0,
    0.25,
    0.5 - 1e-9,
    0.5 - 1e-12,
    float(np.nextafter(0.5, 0.0)),
    0.5,
    float(np.nextafter(0.5, 1.0)),
    0.5 + 1e-12,
    0.5 + 1e-9,
    0.75,
    0.95,
    1.0,
)


def check_identity_symbolic(observed: Callable | None = None) -> CheckResult:
    """Total probability over the true label gives ``q = eps + p(1 - 2 eps)`` (sympy).

    Args:
      observed: optional replacement ``(p, eps) -> sympy expression`` for the stated ``q``,
        so a wrong formula can be shown to fail. Default ``eps + p (1 - 2 eps)``.
    """
    stated = (observed or symmetric_observed)(sym_p, sym_eps)
    # true label y with probability p, another label with 1 - p; the oracle keeps a label
    # with probability 1 - eps and flips it with probability eps, whatever it is.
    prior = {"y": sym_p, "not y": 1 - sym_p}
    says_y = {"y": 1 - sym_eps, "not y": sym_eps}
    total = sum(prior[c] * says_y[c] for c in prior)
    r = sp.Rational
    steps = [
        (
            "P[O = y] = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps)",
            _zero(total - stated),
        ),
        ("q(0.8, 0.1) = 0.74", _zero(stated.subs({sym_p: r(4, 5), sym_eps: r(1, 10)}) - r(37, 50))),
        (
            "q(0.55, 0.2) = 0.53",
            _zero(stated.subs({sym_p: r(11, 20), sym_eps: r(1, 5)}) - r(53, 100)),
        ),
        # q is a convex combination of eps and 1 - eps.
        ("q - eps = p(1 - 2 eps)", _zero(stated - sym_eps - sym_p * (1 - 2 * sym_eps))),
        (
            "1 - eps - q = (1 - p)(1 - 2 eps)",
            _zero(1 - sym_eps - stated - (1 - sym_p) * (1 - 2 * sym_eps)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.symmetric_identity",
    statement="If the oracle flips every response's true label with the same probability "
    "eps, the vote probability is q = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps), p the "
    "true-label probability (law of total probability); q lies in [eps, 1 - eps].",
    source="Seferis, Wu, Kollias, Bensalem & Cheng (2025), EMNLP, arXiv 2509.16088, Eq. 5 / "
    "Th. 4.1",
    symbolic=check_identity_symbolic,
)
def check_identity_numeric(
    dps: int = 50,
    *,
    p_grid=P_GRID,
    eps_grid=EPS_GRID,
    rtol: float = RTOL_ORACLE,
    observed_probability: Callable | None = None,
) -> CheckResult:
    """``observed_probability(p, eps)`` against ``eps + p(1 - 2 eps)`` in mpmath (relative)."""
    observed_probability = observed_probability or rstheory_oracle("observed_probability")
    pts = [(p, e) for p in p_grid for e in eps_grid]
    got = f64(observed_probability(f64([x[0] for x in pts]), eps=f64([x[1] for x in pts])))
    with mpmath.workdps(dps):
        cases = [
            (f"p={p!r}, eps={e!r}", g, observed_mp(p, e))
            for (p, e), g in zip(pts, got, strict=True)
        ]
        return max_relative_error(cases, tolerance=rtol, what="q vs mpmath, relative")


def check_inverse_symbolic(inverse: Callable | None = None) -> CheckResult:
    """Solving ``q = eps + p(1 - 2 eps)`` for ``p`` gives ``h(q, eps) = (q - eps)/(1 - 2 eps)``.

    Args:
      inverse: optional replacement ``(q, eps) -> sympy expression`` for ``h``.
    """
    stated = (inverse or symmetric_inverse)(sym_q, sym_eps)
    solutions = sp.solve(sp.Eq(sym_q, symmetric_observed(sym_p, sym_eps)), sym_p)
    r = sp.Rational
    steps = [
        (
            "solve(q = eps + p(1 - 2 eps), p) = (q - eps)/(1 - 2 eps), one root",
            len(solutions) == 1 and _zero(solutions[0] - stated),
        ),
        (
            "h(q(p, eps), eps) = p",
            _zero(stated.subs(sym_q, symmetric_observed(sym_p, sym_eps)) - sym_p),
        ),
        # h - 1 = (q - (1 - eps))/(1 - 2 eps): above 1 exactly when q > 1 - eps, so clip.
        (
            "h - 1 = (q - (1 - eps))/(1 - 2 eps)",
            _zero(stated - 1 - (sym_q - 1 + sym_eps) / (1 - 2 * sym_eps)),
        ),
        (
            "h(0.95, 0.1) = 17/16 > 1 (clip to 1)",
            _zero(stated.subs({sym_q: r(95, 100), sym_eps: r(1, 10)}) - r(17, 16)),
        ),
        ("h(eps, eps) = 0", _zero(stated.subs(sym_q, sym_eps))),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.symmetric_inverse",
    statement="For eps < 1/2 the true-label probability is p = h(q, eps) = "
    "(q - eps)/(1 - 2 eps), and h(q(p, eps), eps) = p; h leaves [0, 1] when q < eps or "
    "q > 1 - eps (h(0.95, 0.1) = 1.0625), so the correction is clipped to [0, 1].",
    source="Seferis, Wu, Kollias, Bensalem & Cheng (2025), EMNLP, arXiv 2509.16088, "
    "Th. 4.1-4.2 (the clipping at q > 1 - eps derived for this project)",
    symbolic=check_inverse_symbolic,
)
def check_inverse_numeric(
    dps: int = 50,
    *,
    q_grid=Q_GRID,
    p_grid=P_GRID,
    eps_grid=EPS_GRID,
    rtol: float = RTOL_ORACLE,
    observed_probability: Callable | None = None,
    corrected_probability: Callable | None = None,
) -> CheckResult:
    """``corrected_probability`` against the clipped mpmath inverse, and the round trip.

    Two comparisons, condition-scaled: ``corrected_probability(q, eps)`` with
    ``clip((q - eps)/(1 - 2 eps), 0, 1)`` over ``q_grid x eps_grid`` (clipping included:
    ``h(0.95, 0.1) = 1.0625`` must come back as 1), and
    ``corrected_probability(observed_probability(p, eps), eps)`` with ``p``, scaled by the
    condition of the composition (``q`` is rounded on the way: near ``eps = 1/2`` the round
    trip loses digits, ``1 / (1 - 2 eps)`` of them).
    """
    observed_probability = observed_probability or rstheory_oracle("observed_probability")
    corrected_probability = corrected_probability or rstheory_oracle("corrected_probability")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = f64(corrected_probability(f64([x[0] for x in qe]), eps=f64([x[1] for x in qe])))
    pe = [(p, e) for p in p_grid for e in eps_grid]
    eps_pe = f64([x[1] for x in pe])
    q_rt = observed_probability(f64([x[0] for x in pe]), eps=eps_pe)
    back = f64(corrected_probability(q_rt, eps=eps_pe))
    with mpmath.workdps(dps):
        cases = []
        for (q, e), g in zip(qe, got, strict=True):
            _, scale = condition_scale(inverse_mp, (q, e))
            cases.append((f"h({q!r}, {e!r}) = {float(g)!r}", g, corrected_mp(q, e), scale))
        inverse = _max_scaled_error(cases, tolerance=rtol, what="h vs mpmath, condition-scaled")
        cases = []
        for (p, e), g in zip(pe, back, strict=True):
            _, scale = condition_scale(lambda p_, e_: inverse_mp(observed_mp(p_, e_), e_), (p, e))
            # the rounding of q itself, amplified by dh/dq = 1/(1 - 2 eps)
            scale += abs(observed_mp(p, e) / (1 - 2 * mpmath.mpf(e)))
            cases.append((f"round trip p={p!r}, eps={e!r}", g, mpmath.mpf(p), scale))
        round_trip = _max_scaled_error(
            cases, tolerance=rtol, what="h(q(p, eps), eps) vs p, condition-scaled"
        )
    return _combine([inverse, round_trip], tolerance=rtol)


def check_derivative_symbolic(derivative: Callable | None = None) -> CheckResult:
    """``d/deps (q - eps)/(1 - 2 eps) = (2q - 1)/(1 - 2 eps)^2``, positive iff ``q > 1/2``.

    The sign: with ``eps = 1/2 - delta`` (``delta > 0``) and ``q = 1/2 + t`` the derivative
    is ``t / (2 delta^2)``, whose sign sympy reduces to ``sign(t)``.

    Args:
      derivative: optional replacement ``(q, eps) -> sympy expression`` for the stated form.
    """
    stated = (derivative or symmetric_derivative)(sym_q, sym_eps)
    h = symmetric_inverse(sym_q, sym_eps)
    at_edge = {sym_eps: sym_half - sym_delta, sym_q: sym_half + sym_t}
    r = sp.Rational
    steps = [
        (
            "d/deps (q - eps)/(1 - 2 eps) = (2q - 1)/(1 - 2 eps)^2",
            _zero(sp.diff(h, sym_eps) - stated),
        ),
        ("sign = sign(q - 1/2) for eps < 1/2", sign_is(stated.subs(at_edge), sp.sign(sym_t))),
        (
            "at q = 0.8, eps = 0.1: dh/deps = 0.9375",
            _zero(stated.subs({sym_q: r(4, 5), sym_eps: r(1, 10)}) - r(15, 16)),
        ),
        ("h(0.8, 0.1) = 0.875", _zero(h.subs({sym_q: r(4, 5), sym_eps: r(1, 10)}) - r(7, 8))),
        # h(q, 0) = q and h - q = eps (2q - 1)/(1 - 2 eps): p >= q whenever q >= 1/2.
        (
            "h - q = eps (2q - 1)/(1 - 2 eps)",
            _zero(h - sym_q - sym_eps * (2 * sym_q - 1) / (1 - 2 * sym_eps)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.correction_derivative",
    statement="dh/deps = (2q - 1)/(1 - 2 eps)^2 for h(q, eps) = (q - eps)/(1 - 2 eps): "
    "positive iff q > 1/2, so for q > 1/2 the correction grows with eps and p = h >= q "
    "(h(0.8, 0.1) = 0.875; the slope there is 0.9375).",
    source="Seferis, Wu, Kollias, Bensalem & Cheng (2025), EMNLP, arXiv 2509.16088, Th. 4.2",
    symbolic=check_derivative_symbolic,
)
def check_derivative_numeric(
    dps: int = 50,
    *,
    q_grid=Q_GRID,
    eps_grid=EPS_GRID,
    rtol: float = RTOL_ORACLE,
    correction_derivative: Callable | None = None,
) -> CheckResult:
    """``correction_derivative(q, eps)`` against ``mpmath.diff`` of the unclipped inverse.

    Condition-scaled error, and the sign: positive exactly when ``q > 1/2`` (zero at 1/2).
    """
    correction_derivative = correction_derivative or rstheory_oracle("correction_derivative")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = f64(correction_derivative(f64([x[0] for x in qe]), eps=f64([x[1] for x in qe])))

    def dh(q, e):
        return mpmath.diff(lambda t, q=q: inverse_mp(q, t), e)

    with mpmath.workdps(dps):
        cases = []
        for (q, e), g in zip(qe, got, strict=True):
            ref, scale = condition_scale(dh, (q, e))
            cases.append((f"dh/deps({q!r}, {e!r}) = {float(g)!r}", g, ref, scale))
        values = _max_scaled_error(
            cases, tolerance=rtol, what="dh/deps vs mpmath.diff, condition-scaled"
        )
    signs = exact_cases(
        (
            (f"q={q!r}, eps={e!r}: {float(g)!r}", np.sign(g) == np.sign(q - 0.5))
            for (q, e), g in zip(qe, got, strict=True)
        ),
        rtol,
        what="sign(dh/deps) = sign(q - 1/2)",
    )
    return _combine([values, signs], tolerance=rtol)


def check_abstain_symbolic(inverse: Callable | None = None) -> CheckResult:
    """``h - 1/2 = (q - 1/2)/(1 - 2 eps)``, so ``h > 1/2 iff q > 1/2`` for ``eps < 1/2``.

    Args:
      inverse: optional replacement ``(q, eps) -> sympy expression`` for ``h``.
    """
    h = (inverse or symmetric_inverse)(sym_q, sym_eps)
    at_edge = {sym_eps: sym_half - sym_delta, sym_q: sym_half + sym_t}
    steps = [
        (
            "h - 1/2 = (q - 1/2)/(1 - 2 eps)",
            _zero(h - sym_half - (sym_q - sym_half) / (1 - 2 * sym_eps)),
        ),
        (
            "sign(h - 1/2) = sign(q - 1/2) for eps < 1/2",
            sign_is((h - sym_half).subs(at_edge), sp.sign(sym_t)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.abstain_invariance",
    statement="For eps < 1/2, (q - eps)/(1 - 2 eps) - 1/2 = (q - 1/2)/(1 - 2 eps), so the "
    "corrected probability exceeds 1/2 exactly when q does: the correction never changes "
    "the certify/abstain decision.",
    source="Seferis, Wu, Kollias, Bensalem & Cheng (2025), EMNLP, arXiv 2509.16088, Th. 4.2 "
    "(the invariance of the decision derived for this project)",
    symbolic=check_abstain_symbolic,
)
def check_abstain_numeric(
    dps: int = 50,
    *,
    q_grid=ABSTAIN_Q_GRID,
    eps_grid=EPS_GRID,
    rtol: float = RTOL_ORACLE,
    corrected_probability: Callable | None = None,
) -> CheckResult:
    """``corrected_probability(q, eps) > 1/2`` exactly when ``q > 1/2``, float64 neighbours of
    1/2 included (``dps`` is unused: the comparison is exact)."""
    corrected_probability = corrected_probability or rstheory_oracle("corrected_probability")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = f64(corrected_probability(f64([x[0] for x in qe]), eps=f64([x[1] for x in qe])))
    return exact_cases(
        (
            (f"q={q!r}, eps={e!r}: h={float(g)!r}", (g > 0.5) == (q > 0.5))
            for (q, e), g in zip(qe, got, strict=True)
        ),
        rtol,
        what="corrected > 1/2 iff q > 1/2",
    )
