r"""Oracle-error correction: what the votes of an imperfect oracle say about the true labels.

A smoothed vision-language model is certified through an oracle ``O`` that maps each
generated response to a label. The votes estimate ``q = P[O(F(x + delta)) = y]``; the
certificate needs ``p = P[y*(F(x + delta)) = y]`` for the true label ``y*``. Seven
registered theorems: the first four are Seferis et al. 2025, "Randomized Smoothing Meets
Vision-Language Models" (arXiv 2509.16088), Eq. 5 and Th. 4.1-4.2 as reconstructed in the
project's theory digest (section 4.2); the fifth is a third-party counterexample to them
(digest section 4.3); the sixth is this project's own K-class derivation; the seventh is the
Clopper-Pearson bound on the oracle's error rate.

``oracle.symmetric_identity``
  With a symmetric flip probability ``eps``: ``q = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps)``.
``oracle.symmetric_inverse``
  ``h(q, eps) = (q - eps) / (1 - 2 eps)`` inverts it; ``h > 1`` when ``q > 1 - eps``
  (``h(0.95, 0.1) = 1.0625``), so the correction is clipped to ``[0, 1]``.
``oracle.correction_derivative``
  ``dh/deps = (2q - 1) / (1 - 2 eps)^2``: positive iff ``q > 1/2``.
``oracle.abstain_invariance``
  ``h(q, eps) - 1/2 = (q - 1/2) / (1 - 2 eps)``: for ``eps < 1/2`` the correction never
  changes the certify/abstain decision.
``oracle.asymmetric_counterexample``
  A bound on the overall error rate is not enough: ``p = 0.55``, false-positive rate 0.2,
  false-negative rate 0 give ``q = 0.64 > p`` at overall error 0.09. The sound correction
  ``(q - FP) / (1 - FP) <= p`` for every false-negative rate (a third-party critique).
``oracle.k_class_uniform``
  ``K`` classes, uniform confusion: ``q = p(1 - eps) + (1 - p) eps / (K - 1)``, its inverse
  for ``eps < (K - 1)/K`` and its derivative, positive iff ``q > 1/K`` (this project's
  derivation).
``oracle.error_calibration``
  The oracle's error rate from ``errors`` mistakes in ``m`` labelled checks: the one-sided
  Clopper-Pearson upper bound, the ``p`` with ``P[Bin(m, p) <= errors] = alpha``. An upper
  bound on a rate is conservative in the sound bound (decreasing in FP), not in ``h``
  (increasing in ``eps`` for ``q > 1/2``).

Every check takes the functions under test as keyword arguments; left out, they are
rstheory.oracle's, looked up when the check runs. The numeric checks compare float64 values
with mpmath at ``dps`` digits, always under ``mpmath.workdps``. The forward maps add
non-negative terms, so their relative error is compared with the tolerance. The inverses and
derivatives subtract (``q - eps`` near ``p = 0``, ``2q - 1`` near ``q = 1/2``), and their
error is *condition-scaled*: ``|value - reference| / S`` with
``S = |f| + sum_i |x_i df/dx_i|``, the first-order change of ``f`` when every input moves by
its own magnitude. A float64 evaluation that is exact for inputs perturbed by a few units
in the last place (backward stable) has a scaled error of a few ``2^-53``; a relative error
would instead blame the function for the rounding of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from proofs_check._registry import CheckResult, max_relative_error, theorem
from proofs_check._registry import combine as _combine
from proofs_check._registry import max_scaled_error as _max_scaled_error
from proofs_check._registry import simplifies_to_zero as _zero
from proofs_check._registry import symbolic_result as _symbolic_result
from proofs_check.thm_clopper_pearson import RTOL_CP, _error_below_one, _implied_error

__all__ = [
    "ASYMMETRIC_GRID",
    "CALIBRATION_GRID",
    "EPS_GRID",
    "NUM_CLASSES",
    "P_GRID",
    "Q_GRID",
    "RTOL_ORACLE",
    "check_abstain_numeric",
    "check_abstain_symbolic",
    "check_asymmetric_numeric",
    "check_asymmetric_symbolic",
    "check_calibration_numeric",
    "check_calibration_symbolic",
    "check_derivative_numeric",
    "check_derivative_symbolic",
    "check_identity_numeric",
    "check_identity_symbolic",
    "check_inverse_numeric",
    "check_inverse_symbolic",
    "check_k_class_numeric",
    "check_k_class_symbolic",
    "corrected_mp",
    "observed_mp",
]

# The corrections are closed forms of a handful of float64 operations (at most ~8 roundings
# of 2^-53 each): a backward-stable evaluation has a condition-scaled error of about 1e-15,
# and forward maps (non-negative sums) a relative error of the same size. 1e-13, the
# project's tolerance for float64 closed forms, leaves room for any order of the operations
# and is five orders of magnitude below float32 (6e-8), so neither a wrong formula nor a
# float32 computation can pass.
RTOL_ORACLE = 1e-13

# Edges and the theory digest's examples (p = 0.8, 0.55; eps = 0.1, 0.2).
P_GRID = (0.0, 1e-12, 0.3, 0.5, 0.55, 0.8, 1 - 1e-12, 1.0)
EPS_GRID = (0.0, 1e-12, 0.1, 0.2, 0.49, 0.5 - 1e-9)
# q below eps (clipped to 0), around 1/2, above 1 - eps (clipped to 1: 0.95 at eps = 0.1).
Q_GRID = (0.0, 1e-12, 0.1, 0.25, 0.5 - 1e-9, 0.5, 0.5 + 1e-9, 0.64, 0.8, 0.95, 1 - 1e-12, 1.0)
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
# (p, false-positive rates, false-negative rates); the counterexample is (0.55, 0.2, 0).
ASYMMETRIC_GRID = (
    (0.0, 1e-12, 0.3, 0.55, 0.9, 1.0),
    (0.0, 1e-12, 0.05, 0.2, 0.49),
    (0.0, 1e-9, 0.1, 0.3),
)
NUM_CLASSES = (2, 3, 10)
# (ms, alphas); errors run over 0, 1, m // 2, m - 1, m.
CALIBRATION_GRID = ((1, 2, 10, 100, 1000, 100_000), (1e-6, 1e-3, 0.05))
# Polynomial identities of the calibration theorem are checked for every m up to this.
SYMBOLIC_MAX_M = 8


def _rstheory(name: str) -> Callable:
    """rstheory.oracle's ``name``, imported when a check runs, so that the registry still
    imports (and reports the check as failed) when rstheory lacks the function."""
    from rstheory import oracle

    return getattr(oracle, name)


# --------------------------------------------------------------------------- shared helpers


def observed_mp(p, eps, num_classes: int = 2):
    """``q = p (1 - eps) + (1 - p) eps / (K - 1)`` at the working precision, inputs exact."""
    p, eps = mpmath.mpf(p), mpmath.mpf(eps)
    return p * (1 - eps) + (1 - p) * eps / (num_classes - 1)


def _inverse_mp(q, eps, num_classes: int = 2):
    """The unclipped inverse ``(q - eps/(K-1)) / (1 - eps K/(K-1))``."""
    q, eps = mpmath.mpf(q), mpmath.mpf(eps)
    k = num_classes
    return (q - eps / (k - 1)) / (1 - eps * k / (k - 1))


def _clip01(x):
    return min(max(x, mpmath.mpf(0)), mpmath.mpf(1))


def corrected_mp(q, eps, num_classes: int = 2):
    """The inverse of :func:`observed_mp`, clipped to ``[0, 1]``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     h, clipped = corrected_mp(0.8, 0.1), corrected_mp(0.95, 0.1)
      >>> print(mpmath.nstr(h, 15), clipped)  # the double 0.8 is taken exactly
      0.875 1.0
    """
    return _clip01(_inverse_mp(q, eps, num_classes))


def _condition_scale(f: Callable, args: tuple) -> tuple:
    """``(f(x), |f(x)| + sum_i |x_i df/dx_i|)`` at the working precision (``mpmath.diff``)."""
    args = tuple(mpmath.mpf(a) for a in args)
    value = f(*args)
    scale = abs(value)
    for i, x in enumerate(args):
        if x == 0:
            continue

        def partial(t, i=i):
            return f(*args[:i], t, *args[i + 1 :])

        scale += abs(x * mpmath.diff(partial, x))
    return value, scale


def _exact(cases: Iterable[tuple[str, bool]], tolerance: float, *, what: str) -> CheckResult:
    """A yes/no property over ``(label, holds)``: error ``0`` if all hold, else ``inf``."""
    cases = list(cases)
    failed = [label for label, ok in cases if not ok]
    detail = f"{what}: {len(cases)} cases hold"
    if failed:
        detail = f"{what}: fails at {len(failed)} of {len(cases)}, e.g. {failed[0]}"
    return CheckResult(not failed, math.inf if failed else 0.0, tolerance, detail)


def _f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


# Symbols. p, eps, fp, fn: probabilities (non-negative); q the observed probability;
# delta > 0 the distance of eps below its limit; t the (signed) offset of q from a threshold;
# k1 = K - 1 >= 1 for K classes.
_p, _eps, _fp, _fn = sp.symbols("p epsilon FP FN", nonnegative=True)
_q = sp.Symbol("q", nonnegative=True)
_delta, _s = sp.symbols("delta s", positive=True)
_t = sp.Symbol("t", real=True)
_k1 = sp.Symbol("k1", integer=True, positive=True)
_K = _k1 + 1
_half = sp.Rational(1, 2)


def _sign_is(expr, sign) -> bool:
    return sp.simplify(sp.sign(sp.simplify(expr)) - sign) == 0


# --------------------------------------------------------------------------- 1. identity


def _default_observed(p, eps):
    return eps + p * (1 - 2 * eps)


def check_identity_symbolic(observed: Callable | None = None) -> CheckResult:
    """Total probability over the true label gives ``q = eps + p(1 - 2 eps)`` (sympy).

    Args:
      observed: optional replacement ``(p, eps) -> sympy expression`` for the stated ``q``,
        so a wrong formula can be shown to fail. Default ``eps + p (1 - 2 eps)``.
    """
    stated = (observed or _default_observed)(_p, _eps)
    # true label y with probability p, another label with 1 - p; the oracle keeps a label
    # with probability 1 - eps and flips it with probability eps, whatever it is.
    prior = {"y": _p, "not y": 1 - _p}
    says_y = {"y": 1 - _eps, "not y": _eps}
    total = sum(prior[c] * says_y[c] for c in prior)
    r = sp.Rational
    steps = [
        (
            "P[O = y] = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps)",
            _zero(total - stated),
        ),
        ("q(0.8, 0.1) = 0.74", _zero(stated.subs({_p: r(4, 5), _eps: r(1, 10)}) - r(37, 50))),
        ("q(0.55, 0.2) = 0.53", _zero(stated.subs({_p: r(11, 20), _eps: r(1, 5)}) - r(53, 100))),
        # q is a convex combination of eps and 1 - eps.
        ("q - eps = p(1 - 2 eps)", _zero(stated - _eps - _p * (1 - 2 * _eps))),
        ("1 - eps - q = (1 - p)(1 - 2 eps)", _zero(1 - _eps - stated - (1 - _p) * (1 - 2 * _eps))),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.symmetric_identity",
    statement="If the oracle flips every response's true label with the same probability "
    "eps, the vote probability is q = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps), p the "
    "true-label probability (law of total probability); q lies in [eps, 1 - eps].",
    source="Seferis et al. (2025), arXiv 2509.16088, Eq. 5 / Th. 4.1; as reconstructed in "
    "the project's theory digest, section 4.2 (Theorem A)",
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
    observed_probability = observed_probability or _rstheory("observed_probability")
    pts = [(p, e) for p in p_grid for e in eps_grid]
    got = _f64(observed_probability(_f64([x[0] for x in pts]), eps=_f64([x[1] for x in pts])))
    with mpmath.workdps(dps):
        cases = [
            (f"p={p!r}, eps={e!r}", g, observed_mp(p, e))
            for (p, e), g in zip(pts, got, strict=True)
        ]
        return max_relative_error(cases, rtol, what="q vs mpmath, relative")


# --------------------------------------------------------------------------- 2. inverse


def _default_inverse(q, eps):
    return (q - eps) / (1 - 2 * eps)


def check_inverse_symbolic(inverse: Callable | None = None) -> CheckResult:
    """Solving ``q = eps + p(1 - 2 eps)`` for ``p`` gives ``h(q, eps) = (q - eps)/(1 - 2 eps)``.

    Args:
      inverse: optional replacement ``(q, eps) -> sympy expression`` for ``h``.
    """
    stated = (inverse or _default_inverse)(_q, _eps)
    solutions = sp.solve(sp.Eq(_q, _default_observed(_p, _eps)), _p)
    r = sp.Rational
    steps = [
        (
            "solve(q = eps + p(1 - 2 eps), p) = (q - eps)/(1 - 2 eps), one root",
            len(solutions) == 1 and _zero(solutions[0] - stated),
        ),
        ("h(q(p, eps), eps) = p", _zero(stated.subs(_q, _default_observed(_p, _eps)) - _p)),
        # h - 1 = (q - (1 - eps))/(1 - 2 eps): above 1 exactly when q > 1 - eps, so clip.
        (
            "h - 1 = (q - (1 - eps))/(1 - 2 eps)",
            _zero(stated - 1 - (_q - 1 + _eps) / (1 - 2 * _eps)),
        ),
        (
            "h(0.95, 0.1) = 17/16 > 1 (clip to 1)",
            _zero(stated.subs({_q: r(95, 100), _eps: r(1, 10)}) - r(17, 16)),
        ),
        ("h(eps, eps) = 0", _zero(stated.subs(_q, _eps))),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.symmetric_inverse",
    statement="For eps < 1/2 the true-label probability is p = h(q, eps) = "
    "(q - eps)/(1 - 2 eps), and h(q(p, eps), eps) = p; h leaves [0, 1] when q < eps or "
    "q > 1 - eps (h(0.95, 0.1) = 1.0625), so the correction is clipped to [0, 1].",
    source="Seferis et al. (2025), arXiv 2509.16088, Th. 4.1-4.2; as reconstructed in the "
    "project's theory digest, section 4.2 (inversion, Theorem C edge case)",
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
    observed_probability = observed_probability or _rstheory("observed_probability")
    corrected_probability = corrected_probability or _rstheory("corrected_probability")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = _f64(corrected_probability(_f64([x[0] for x in qe]), eps=_f64([x[1] for x in qe])))
    pe = [(p, e) for p in p_grid for e in eps_grid]
    eps_pe = _f64([x[1] for x in pe])
    q_rt = observed_probability(_f64([x[0] for x in pe]), eps=eps_pe)
    back = _f64(corrected_probability(q_rt, eps=eps_pe))
    with mpmath.workdps(dps):
        cases = []
        for (q, e), g in zip(qe, got, strict=True):
            _, scale = _condition_scale(_inverse_mp, (q, e))
            cases.append((f"h({q!r}, {e!r}) = {float(g)!r}", g, corrected_mp(q, e), scale))
        inverse = _max_scaled_error(cases, rtol, what="h vs mpmath, condition-scaled")
        cases = []
        for (p, e), g in zip(pe, back, strict=True):
            _, scale = _condition_scale(lambda p_, e_: _inverse_mp(observed_mp(p_, e_), e_), (p, e))
            # the rounding of q itself, amplified by dh/dq = 1/(1 - 2 eps)
            scale += abs(observed_mp(p, e) / (1 - 2 * mpmath.mpf(e)))
            cases.append((f"round trip p={p!r}, eps={e!r}", g, mpmath.mpf(p), scale))
        round_trip = _max_scaled_error(cases, rtol, what="h(q(p, eps), eps) vs p, condition-scaled")
    return _combine([inverse, round_trip], rtol)


# --------------------------------------------------------------------------- 3. derivative


def _default_derivative(q, eps):
    return (2 * q - 1) / (1 - 2 * eps) ** 2


def check_derivative_symbolic(derivative: Callable | None = None) -> CheckResult:
    """``d/deps (q - eps)/(1 - 2 eps) = (2q - 1)/(1 - 2 eps)^2``, positive iff ``q > 1/2``.

    The sign: with ``eps = 1/2 - delta`` (``delta > 0``) and ``q = 1/2 + t`` the derivative
    is ``t / (2 delta^2)``, whose sign sympy reduces to ``sign(t)``.

    Args:
      derivative: optional replacement ``(q, eps) -> sympy expression`` for the stated form.
    """
    stated = (derivative or _default_derivative)(_q, _eps)
    h = _default_inverse(_q, _eps)
    at_edge = {_eps: _half - _delta, _q: _half + _t}
    r = sp.Rational
    steps = [
        ("d/deps (q - eps)/(1 - 2 eps) = (2q - 1)/(1 - 2 eps)^2", _zero(sp.diff(h, _eps) - stated)),
        ("sign = sign(q - 1/2) for eps < 1/2", _sign_is(stated.subs(at_edge), sp.sign(_t))),
        (
            "at q = 0.8, eps = 0.1: dh/deps = 0.9375",
            _zero(stated.subs({_q: r(4, 5), _eps: r(1, 10)}) - r(15, 16)),
        ),
        ("h(0.8, 0.1) = 0.875", _zero(h.subs({_q: r(4, 5), _eps: r(1, 10)}) - r(7, 8))),
        # h(q, 0) = q and h - q = eps (2q - 1)/(1 - 2 eps): p >= q whenever q >= 1/2.
        ("h - q = eps (2q - 1)/(1 - 2 eps)", _zero(h - _q - _eps * (2 * _q - 1) / (1 - 2 * _eps))),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.correction_derivative",
    statement="dh/deps = (2q - 1)/(1 - 2 eps)^2 for h(q, eps) = (q - eps)/(1 - 2 eps): "
    "positive iff q > 1/2, so for q > 1/2 the correction grows with eps and p = h >= q "
    "(h(0.8, 0.1) = 0.875; the slope there is 0.9375).",
    source="Seferis et al. (2025), arXiv 2509.16088, Th. 4.2; as reconstructed in the "
    "project's theory digest, section 4.2 (Lemma B)",
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
    correction_derivative = correction_derivative or _rstheory("correction_derivative")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = _f64(correction_derivative(_f64([x[0] for x in qe]), eps=_f64([x[1] for x in qe])))

    def dh(q, e):
        return mpmath.diff(lambda t, q=q: _inverse_mp(q, t), e)

    with mpmath.workdps(dps):
        cases = []
        for (q, e), g in zip(qe, got, strict=True):
            ref, scale = _condition_scale(dh, (q, e))
            cases.append((f"dh/deps({q!r}, {e!r}) = {float(g)!r}", g, ref, scale))
        values = _max_scaled_error(cases, rtol, what="dh/deps vs mpmath.diff, condition-scaled")
    signs = _exact(
        (
            (f"q={q!r}, eps={e!r}: {float(g)!r}", np.sign(g) == np.sign(q - 0.5))
            for (q, e), g in zip(qe, got, strict=True)
        ),
        rtol,
        what="sign(dh/deps) = sign(q - 1/2)",
    )
    return _combine([values, signs], rtol)


# --------------------------------------------------------------------------- 4. abstain


def check_abstain_symbolic(inverse: Callable | None = None) -> CheckResult:
    """``h - 1/2 = (q - 1/2)/(1 - 2 eps)``, so ``h > 1/2 iff q > 1/2`` for ``eps < 1/2``.

    Args:
      inverse: optional replacement ``(q, eps) -> sympy expression`` for ``h``.
    """
    h = (inverse or _default_inverse)(_q, _eps)
    at_edge = {_eps: _half - _delta, _q: _half + _t}
    steps = [
        ("h - 1/2 = (q - 1/2)/(1 - 2 eps)", _zero(h - _half - (_q - _half) / (1 - 2 * _eps))),
        (
            "sign(h - 1/2) = sign(q - 1/2) for eps < 1/2",
            _sign_is((h - _half).subs(at_edge), sp.sign(_t)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.abstain_invariance",
    statement="For eps < 1/2, (q - eps)/(1 - 2 eps) - 1/2 = (q - 1/2)/(1 - 2 eps), so the "
    "corrected probability exceeds 1/2 exactly when q does: the correction never changes "
    "the certify/abstain decision.",
    source="Seferis et al. (2025), arXiv 2509.16088, Th. 4.2; as reconstructed in the "
    "project's theory digest, section 4.2 (Lemma B) and section 7 item 20",
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
    corrected_probability = corrected_probability or _rstheory("corrected_probability")
    qe = [(q, e) for q in q_grid for e in eps_grid]
    got = _f64(corrected_probability(_f64([x[0] for x in qe]), eps=_f64([x[1] for x in qe])))
    return _exact(
        (
            (f"q={q!r}, eps={e!r}: h={float(g)!r}", (g > 0.5) == (q > 0.5))
            for (q, e), g in zip(qe, got, strict=True)
        ),
        rtol,
        what="corrected > 1/2 iff q > 1/2",
    )


# --------------------------------------------------------------------------- 5. asymmetric


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
    q = _asym_observed(_p, _fp, _fn)
    r = sp.Rational
    ce = {_p: r(11, 20), _fp: r(1, 5), _fn: 0}
    q_ce = q.subs(ce)
    error_ce = ((1 - _p) * _fp + _p * _fn).subs(ce)
    below_one = {_fp: 1 - _s}
    gap = sp.simplify(bound(q, _fp) - _p)
    r_q = sp.Symbol("r", nonnegative=True)  # q = 1 - r <= 1
    steps = [
        ("counterexample: q = 0.64", q_ce == r(16, 25)),
        ("overall error 0.09 < 1/2", error_ce == r(9, 100) and error_ce < _half),
        ("q > p", q_ce > ce[_p]),
        (
            "symmetric correction with eps = 0.09 gives 55/82 > p",
            _zero(_default_inverse(q_ce, error_ce) - r(55, 82)) and r(55, 82) > ce[_p],
        ),
        ("sound bound at q = 0.64, FP = 0.2 is 0.55", _zero(bound(q_ce, ce[_fp]) - ce[_p])),
        ("(q - FP)/(1 - FP) - p = -p FN/(1 - FP)", _zero(gap + _p * _fn / (1 - _fp))),
        (
            "... <= 0 for FP < 1, every FN >= 0",
            sp.simplify(gap.subs(below_one)).is_nonpositive is True,
        ),
        (
            "increasing in q",
            sp.simplify(sp.diff(bound(_q, _fp), _q).subs(below_one)).is_positive is True,
        ),
        (
            "decreasing in FP for q <= 1",
            sp.simplify(sp.diff(bound(1 - r_q, _fp), _fp).subs(below_one)).is_nonpositive is True,
        ),
        ("both rates known: (q - FP)/(1 - FN - FP) = p", _zero((q - _fp) / (1 - _fn - _fp) - _p)),
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
    source="Third-party counterexample to Seferis et al. (2025) Th. 4.1-4.2; not in the "
    "paper; the project's theory digest, section 4.3",
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
    observed_probability_asymmetric = observed_probability_asymmetric or _rstheory(
        "observed_probability_asymmetric"
    )
    corrected_lower_bound = corrected_lower_bound or _rstheory("corrected_lower_bound")
    ps, fps, fns = grid
    pts = [(p, a, b) for p in ps for a in fps for b in fns]
    p, fp, fn = (_f64(v) for v in zip(*pts, strict=True))
    q_got = _f64(observed_probability_asymmetric(p, eps_fp=fp, eps_fn=fn))
    bound_pts = [(q, a, b) for q in q_grid for a in fps for b in (None, *fns)]
    q_b = _f64([x[0] for x in bound_pts])
    fp_b = _f64([x[1] for x in bound_pts])
    unknown = [x[2] is None for x in bound_pts]
    lb_unknown = _f64(corrected_lower_bound(q_b[unknown], eps_fp=fp_b[unknown]))
    known = np.logical_not(unknown)
    fn_b = _f64([x[2] for x in bound_pts if x[2] is not None])
    lb_known = _f64(corrected_lower_bound(q_b[known], eps_fp=fp_b[known], eps_fn=fn_b))
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
        forward = max_relative_error(cases, rtol, what="asymmetric q vs mpmath, relative")
        cases = []
        for (q, a, b), g in zip(bound_pts, lb, strict=True):
            if b is None:
                ref, scale = _condition_scale(lambda q_, a_: _asym_lower_mp(q_, a_), (q, a))
            else:
                ref, scale = _condition_scale(_asym_lower_mp, (q, a, b))
            label = f"lower(q={q!r}, FP={a!r}, FN={b!r}) = {float(g)!r}"
            cases.append((label, g, _clip01(ref), scale))
        lower = _max_scaled_error(cases, rtol, what="sound lower bound vs mpmath, condition-scaled")
    return _combine([forward, lower], rtol)


# --------------------------------------------------------------------------- 6. K classes


def _default_observed_k(p, eps, k):
    return p * (1 - eps) + (1 - p) * eps / (k - 1)


def _default_inverse_k(q, eps, k):
    return (q - eps / (k - 1)) / (1 - eps * k / (k - 1))


def _default_derivative_k(q, eps, k):
    return (k * q / (k - 1) - 1 / (k - 1)) / (1 - eps * k / (k - 1)) ** 2


def check_k_class_symbolic(
    observed: Callable | None = None,
    inverse: Callable | None = None,
    derivative: Callable | None = None,
) -> CheckResult:
    """The K-class identity, inverse, validity range and derivative, symbolic in ``K >= 2``.

    ``K = k1 + 1`` with ``k1`` a positive integer. The oracle keeps a label with probability
    ``1 - eps`` and otherwise picks one of the other ``K - 1`` labels uniformly.

    Args:
      observed, inverse, derivative: optional replacements ``(x, eps, K) -> sympy
        expression`` for the stated forms.
    """
    q_stated = (observed or _default_observed_k)(_p, _eps, _K)
    h = (inverse or _default_inverse_k)(_q, _eps, _K)
    dh = (derivative or _default_derivative_k)(_q, _eps, _K)
    # total probability: true label y (prob p) kept with 1 - eps; a true label y' != y (total
    # prob 1 - p, however split among the K - 1 others) goes to y with eps / (K - 1).
    total = _p * (1 - _eps) + (1 - _p) * (_eps / (_K - 1))
    solutions = sp.solve(sp.Eq(_q, total), _p)
    denominator = 1 - _eps * _K / (_K - 1)
    inside = {_eps: (_K - 1) / _K - _delta, _q: 1 / _K + _t}
    binary = {_k1: 1}
    steps = [
        ("P[O = y] = p(1 - eps) + (1 - p) eps/(K - 1)", _zero(total - q_stated)),
        (
            "solve for p: (q - eps/(K-1))/(1 - eps K/(K-1)), one root",
            len(solutions) == 1 and _zero(solutions[0] - h),
        ),
        ("h(q(p, eps), eps) = p", _zero(h.subs(_q, total) - _p)),
        (
            "1 - eps K/(K-1) = K/(K-1) ((K-1)/K - eps): > 0 iff eps < (K-1)/K",
            _zero(denominator - _K / (_K - 1) * ((_K - 1) / _K - _eps))
            and sp.simplify(denominator.subs(inside)).is_positive is True
            and _zero(denominator.subs(_eps, (_K - 1) / _K)),
        ),
        ("dh/deps = (Kq/(K-1) - 1/(K-1))/(1 - eps K/(K-1))^2", _zero(sp.diff(h, _eps) - dh)),
        ("sign(dh/deps) = sign(q - 1/K) for eps < (K-1)/K", _sign_is(dh.subs(inside), sp.sign(_t))),
        (
            "K = 2 gives the binary identity, inverse and derivative",
            _zero(q_stated.subs(binary) - _default_observed(_p, _eps))
            and _zero(h.subs(binary) - _default_inverse(_q, _eps))
            and _zero(dh.subs(binary) - _default_derivative(_q, _eps)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.k_class_uniform",
    statement="With K classes and an oracle that keeps the label with probability 1 - eps "
    "and otherwise picks one of the K - 1 others uniformly, q = p(1 - eps) + (1 - p) "
    "eps/(K - 1); for eps < (K - 1)/K (positive denominator) p = (q - eps/(K-1))/(1 - eps "
    "K/(K-1)), whose eps-derivative (Kq/(K-1) - 1/(K-1))/(1 - eps K/(K-1))^2 is positive "
    "iff q > 1/K; K = 2 gives the binary case.",
    source="This project's own derivation; theory digest, section 4.2 (multi-class "
    "version), not known to be in Seferis et al. (2025)",
    symbolic=check_k_class_symbolic,
)
def check_k_class_numeric(
    dps: int = 50,
    *,
    num_classes=NUM_CLASSES,
    p_grid=P_GRID,
    rtol: float = RTOL_ORACLE,
    observed_probability: Callable | None = None,
    corrected_probability: Callable | None = None,
    correction_derivative: Callable | None = None,
) -> CheckResult:
    """For each ``K``: the forward map (relative), the clipped inverse and the derivative
    (condition-scaled, the derivative against ``mpmath.diff``), the derivative's sign against
    ``q - 1/K``, ``num_classes=2`` equal to the default, and ``eps >= (K-1)/K`` rejected with
    ``ValueError`` by the inverse and the derivative."""
    observed_probability = observed_probability or _rstheory("observed_probability")
    corrected_probability = corrected_probability or _rstheory("corrected_probability")
    correction_derivative = correction_derivative or _rstheory("correction_derivative")
    forward, inverse, deriv, signs, same, rejects = [], [], [], [], [], []
    for k in num_classes:
        limit = (k - 1) / k
        eps_grid = (0.0, 1e-12, 0.1, 0.3, 0.98 * limit, limit - 1e-9)
        q_grid = (0.0, 1e-12, 0.5 / k, 1 / k - 1e-9, 1 / k + 1e-9, 0.5, 0.8, 0.95, 1.0)
        pe = [(p, e) for p in p_grid for e in eps_grid]
        qe = [(q, e) for q in q_grid for e in eps_grid]
        pp, ep = _f64([x[0] for x in pe]), _f64([x[1] for x in pe])
        qq, eq = _f64([x[0] for x in qe]), _f64([x[1] for x in qe])
        q_got = _f64(observed_probability(pp, eps=ep, num_classes=k))
        h_got = _f64(corrected_probability(qq, eps=eq, num_classes=k))
        d_got = _f64(correction_derivative(qq, eps=eq, num_classes=k))
        if k == 2:
            same += [
                ("observed", np.array_equal(q_got, _f64(observed_probability(pp, eps=ep)))),
                ("corrected", np.array_equal(h_got, _f64(corrected_probability(qq, eps=eq)))),
                ("derivative", np.array_equal(d_got, _f64(correction_derivative(qq, eps=eq)))),
            ]
        # the smallest double at or above (K - 1)/K: outside the validity range
        outside = (
            limit if Fraction(limit) >= Fraction(k - 1, k) else float(np.nextafter(limit, 2.0))
        )
        for name, fn in (
            ("corrected", corrected_probability),
            ("derivative", correction_derivative),
        ):
            try:
                fn(_f64([0.5]), eps=_f64([outside]), num_classes=k)
                rejects.append((f"{name}(0.5, eps={outside!r}, K={k}) returned", False))
            except ValueError:
                rejects.append((f"{name} rejects eps={outside!r} at K={k}", True))

        def dh(q, e, k=k):
            return mpmath.diff(lambda t, q=q: _inverse_mp(q, t, k), e)

        with mpmath.workdps(dps):
            for (p, e), g in zip(pe, q_got, strict=True):
                forward.append((f"K={k}, p={p!r}, eps={e!r}", g, observed_mp(p, e, k)))
            for (q, e), g, d in zip(qe, h_got, d_got, strict=True):
                ref, scale = _condition_scale(lambda q_, e_, k=k: _inverse_mp(q_, e_, k), (q, e))
                inverse.append((f"h_K={k}({q!r}, {e!r}) = {float(g)!r}", g, _clip01(ref), scale))
                ref, scale = _condition_scale(dh, (q, e))
                deriv.append((f"dh_K={k}/deps({q!r}, {e!r}) = {float(d)!r}", d, ref, scale))
                signs.append(
                    (f"K={k}, q={q!r}, eps={e!r}: {float(d)!r}", np.sign(d) == np.sign(q - 1 / k))
                )
    with mpmath.workdps(dps):
        parts = [
            max_relative_error(forward, rtol, what="q_K vs mpmath, relative"),
            _max_scaled_error(inverse, rtol, what="h_K vs mpmath, condition-scaled"),
            _max_scaled_error(deriv, rtol, what="dh_K/deps vs mpmath.diff, condition-scaled"),
        ]
    parts += [
        _exact(signs, rtol, what="sign(dh_K/deps) = sign(q - 1/K)"),
        _exact(same, rtol, what="num_classes=2 equals the default"),
        _exact(rejects, rtol, what="eps >= (K-1)/K raises ValueError"),
    ]
    return _combine(parts, rtol)


# --------------------------------------------------------------------------- 7. calibration


def check_calibration_symbolic(max_m: int = SYMBOLIC_MAX_M) -> CheckResult:
    r"""``d/dp P[Bin(m, p) <= e] = -m C(m-1, e) p^e (1-p)^(m-1-e)`` for ``0 <= e < m <= max_m``.

    The tail therefore falls strictly from 1 to 0 on ``(0, 1)``: ``P[Bin(m, U) <= e] = alpha``
    has exactly one root ``U``, and for a true error rate ``eps`` the event ``U < eps`` is
    ``errors <= e*`` for the ``e*`` with tail ``<= alpha`` at ``eps``, so ``P[U < eps] <=
    alpha``. At ``e = m`` the tail is identically 1 and ``U = 1``.
    """
    p = sp.Symbol("p", positive=True)
    failures = []
    for m in range(1, max_m + 1):
        for e in range(m + 1):
            tail = sum(sp.binomial(m, j) * p**j * (1 - p) ** (m - j) for j in range(e + 1))
            if e == m:
                ok = sp.expand(tail - 1) == 0
            else:
                slope = -m * sp.binomial(m - 1, e) * p**e * (1 - p) ** (m - 1 - e)
                ok = sp.expand(sp.diff(tail, p) - slope) == 0
            if not ok:
                failures.append((e, m))
    count = max_m * (max_m + 3) // 2
    if failures:
        return CheckResult(
            False, detail=f"tail derivative identity fails for (e, m) in {failures[:5]}"
        )
    return CheckResult(
        True,
        detail=f"d/dp P[Bin(m,p) <= e] = -m C(m-1,e) p^e (1-p)^(m-1-e) for 0 <= e < m <= "
        f"{max_m}, P[Bin(m,p) <= m] = 1 ({count} identities)",
    )


@theorem(
    "oracle.error_calibration",
    statement="From errors mistakes in m independent labelled oracle checks, eps_upper "
    "solves P[Bin(m, eps_upper) <= errors] = alpha (eps_upper = 1 at errors = m): a "
    "one-sided (1 - alpha) Clopper-Pearson upper bound on the oracle's error rate. It "
    "belongs in the sound bound (q - FP)/(1 - FP), which decreases in FP; the symmetric "
    "h(q, eps) increases in eps for q > 1/2, so an upper bound on eps would not be "
    "conservative there.",
    source="Clopper & Pearson (1934), Biometrika 26(4); the error-rate bound that "
    "Seferis et al. (2025) Th. 4.2 assumes (theory digest, section 4.2, Theorem C)",
    symbolic=check_calibration_symbolic,
)
def check_calibration_numeric(
    dps: int = 50,
    *,
    grid=CALIBRATION_GRID,
    rtol: float = RTOL_CP,
    estimate_error: Callable | None = None,
) -> CheckResult:
    """``estimate_error(errors, m, alpha=alpha).eps_upper`` puts ``P[Bin(m, .) <= errors]`` at
    ``alpha`` (mpmath tail, error as in ``clopper_pearson.tail_inversion``: the residual divided
    by the tail's elasticity, the tail from :func:`proofs_check._binomial_mp.binomial_tail_le`);
    exactly 1 at ``errors = m``; ``.alpha`` is ``alpha``."""
    estimate_error = estimate_error or _rstheory("estimate_error")
    ms, alphas = grid
    pts = [
        (e, m, a)
        for m in ms
        for e in sorted({0, 1, m // 2, m - 1, m} & set(range(m + 1)))
        for a in alphas
    ]
    errors, m_arr, a_arr = (np.asarray(v) for v in zip(*pts, strict=True))
    result = estimate_error(errors, m_arr, alpha=_f64(a_arr))
    upper = _f64(result.eps_upper)
    alpha_back = _f64(result.alpha)
    worst, worst_at, worst_resid = 0.0, "", 0.0
    with mpmath.workdps(dps):
        for (e, m, a), u in zip(pts, upper, strict=True):
            u = float(u)
            label = f"eps_upper(errors={e}, m={m}, alpha={a:g}) = {u!r}"
            if e == m:
                err, resid = (0.0 if u == 1.0 else math.inf), 0.0
            elif u == 1.0:
                err, resid = _error_below_one(e, m, mpmath.mpf(a))
            elif not 0.0 < u < 1.0:
                err, resid = math.inf, math.inf
            else:
                err, resid = _implied_error("upper", e, m, mpmath.mpf(u), mpmath.mpf(a))
            if not err <= worst:
                worst, worst_at = (math.inf if math.isnan(err) else err), label
            worst_resid = max(worst_resid, resid)
    tail = CheckResult(
        worst <= rtol,
        worst,
        rtol,
        f"{len(pts)} bounds; max implied relative error {worst:.2e} at {worst_at}; "
        f"max |P[Bin(m, U) <= errors]/alpha - 1| = {worst_resid:.2e}",
    )
    same_alpha = _exact(
        [
            (f"alpha={a:g}", float(b) == a)
            for (_, _, a), b in zip(pts, np.broadcast_to(alpha_back, upper.shape), strict=True)
        ],
        rtol,
        what="ErrorBound.alpha is the alpha passed",
    )
    return _combine([tail, same_alpha], rtol)
